//! cty's JSON form: the fallback encoding of a `DynamicValue` and the form of
//! `UpgradeResourceState`'s raw state. A small parser of its own keeps number texts verbatim, so
//! numbers keep their full decimal precision.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::number::parse_number;
use super::path::{
    bare_dynamic, check_attributes, mismatch, quote, too_deep, tuple_length, unsupported_attribute,
    Path,
};
use super::{implied_primitive_type, ObjectType, Type, Value, ValueError, MAX_DEPTH};

/// Options for [`decode_json`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DecodeJsonOpts {
    /// Drop object attributes the type does not have instead of failing
    /// (for state written under an older schema).
    pub ignore_unknown_attributes: bool,
}

/// Decode cty's JSON form as a value of type `ty`. Numbers keep their full
/// decimal precision. Missing object attributes become null. As cty does,
/// a string is accepted for a number or bool (`"12"`, `"true"`) and a number
/// or bool for a string. Empty input is null.
pub fn decode_json(ty: &Type, bytes: &[u8], opts: DecodeJsonOpts) -> Result<Value, ValueError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    let text =
        std::str::from_utf8(bytes).map_err(|_| Path::Root.err("JSON input is not valid UTF-8"))?;
    let mut p = JsonParser {
        s: text,
        b: text.as_bytes(),
        pos: 0,
    };
    let json = p.parse_document()?;
    cty_json_to_value(ty, &json, &Path::Root, 0, opts)
}

/// Encode `v` in cty's JSON form for type `ty`. Unknown values (and the
/// infinities) cannot be written in JSON and are errors.
pub fn encode_json(ty: &Type, v: &Value) -> Result<Vec<u8>, ValueError> {
    let mut out = String::new();
    write_json(&mut out, ty, v, &Path::Root, 0)?;
    Ok(out.into_bytes())
}

/// A parsed JSON document that keeps number texts verbatim.
enum Json {
    Null,
    Bool(bool),
    Number(String),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    fn kind(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool(_) => "JSON boolean",
            Json::Number(_) => "JSON number",
            Json::String(_) => "JSON string",
            Json::Array(_) => "JSON array",
            Json::Object(_) => "JSON object",
        }
    }

    /// For type JSON nested in a dynamic value (types hold no numbers).
    fn to_serde(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Json::Null | Json::Number(_) => J::Null,
            Json::Bool(b) => J::Bool(*b),
            Json::String(s) => J::String(s.clone()),
            Json::Array(xs) => J::Array(xs.iter().map(Json::to_serde).collect()),
            Json::Object(m) => {
                J::Object(m.iter().map(|(k, v)| (k.clone(), v.to_serde())).collect())
            }
        }
    }
}

struct JsonParser<'a> {
    s: &'a str,
    b: &'a [u8],
    pos: usize,
}

impl JsonParser<'_> {
    fn err(&self, what: &str) -> ValueError {
        Path::Root.err(format!("invalid JSON at byte {}: {what}", self.pos))
    }

    fn ws(&mut self) {
        while self.pos < self.b.len() && matches!(self.b[self.pos], b' ' | b'\t' | b'\n' | b'\r') {
            self.pos += 1;
        }
    }

    fn parse_document(&mut self) -> Result<Json, ValueError> {
        let v = self.parse_value(0)?;
        self.ws();
        if self.pos != self.b.len() {
            return Err(self.err("unexpected data after the JSON value"));
        }
        Ok(v)
    }

    fn literal(&mut self, word: &str, v: Json) -> Result<Json, ValueError> {
        if self.b[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(v)
        } else {
            Err(self.err("unexpected character"))
        }
    }

    fn parse_value(&mut self, depth: usize) -> Result<Json, ValueError> {
        if depth > MAX_DEPTH {
            return Err(self.err(&format!("nested deeper than {MAX_DEPTH}")));
        }
        self.ws();
        let Some(&c) = self.b.get(self.pos) else {
            return Err(self.err("unexpected end of input"));
        };
        match c {
            b'n' => self.literal("null", Json::Null),
            b't' => self.literal("true", Json::Bool(true)),
            b'f' => self.literal("false", Json::Bool(false)),
            b'"' => Ok(Json::String(self.parse_string()?)),
            b'-' | b'0'..=b'9' => self.parse_number(),
            b'[' => {
                self.pos += 1;
                let mut items = Vec::new();
                self.ws();
                if self.b.get(self.pos) == Some(&b']') {
                    self.pos += 1;
                    return Ok(Json::Array(items));
                }
                loop {
                    items.push(self.parse_value(depth + 1)?);
                    self.ws();
                    match self.b.get(self.pos) {
                        Some(b',') => self.pos += 1,
                        Some(b']') => {
                            self.pos += 1;
                            return Ok(Json::Array(items));
                        }
                        _ => return Err(self.err("expected ',' or ']'")),
                    }
                }
            }
            b'{' => {
                self.pos += 1;
                let mut entries = Vec::new();
                self.ws();
                if self.b.get(self.pos) == Some(&b'}') {
                    self.pos += 1;
                    return Ok(Json::Object(entries));
                }
                loop {
                    self.ws();
                    if self.b.get(self.pos) != Some(&b'"') {
                        return Err(self.err("expected a string object key"));
                    }
                    let key = self.parse_string()?;
                    self.ws();
                    if self.b.get(self.pos) != Some(&b':') {
                        return Err(self.err("expected ':'"));
                    }
                    self.pos += 1;
                    let v = self.parse_value(depth + 1)?;
                    entries.push((key, v));
                    self.ws();
                    match self.b.get(self.pos) {
                        Some(b',') => self.pos += 1,
                        Some(b'}') => {
                            self.pos += 1;
                            return Ok(Json::Object(entries));
                        }
                        _ => return Err(self.err("expected ',' or '}'")),
                    }
                }
            }
            _ => Err(self.err("unexpected character")),
        }
    }

    fn parse_number(&mut self) -> Result<Json, ValueError> {
        let start = self.pos;
        let digits = |p: &mut Self| {
            let st = p.pos;
            while p.pos < p.b.len() && p.b[p.pos].is_ascii_digit() {
                p.pos += 1;
            }
            p.pos - st
        };
        if self.b.get(self.pos) == Some(&b'-') {
            self.pos += 1;
        }
        let int_start = self.pos;
        let n = digits(self);
        if n == 0 || (n > 1 && self.b[int_start] == b'0') {
            return Err(self.err("invalid number"));
        }
        if self.b.get(self.pos) == Some(&b'.') {
            self.pos += 1;
            if digits(self) == 0 {
                return Err(self.err("invalid number"));
            }
        }
        if matches!(self.b.get(self.pos), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.b.get(self.pos), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if digits(self) == 0 {
                return Err(self.err("invalid number"));
            }
        }
        Ok(Json::Number(self.s[start..self.pos].to_string()))
    }

    fn hex4(&mut self) -> Result<u32, ValueError> {
        let Some(h) = self.b.get(self.pos..self.pos + 4) else {
            return Err(self.err("truncated \\u escape"));
        };
        let mut v = 0u32;
        for &c in h {
            let d = char::from(c)
                .to_digit(16)
                .ok_or_else(|| self.err("invalid \\u escape"))?;
            v = v * 16 + d;
        }
        self.pos += 4;
        Ok(v)
    }

    fn parse_string(&mut self) -> Result<String, ValueError> {
        self.pos += 1; // opening quote
        let mut out = String::new();
        loop {
            let start = self.pos;
            while self.pos < self.b.len() && !matches!(self.b[self.pos], b'"' | b'\\' | 0..=0x1f) {
                self.pos += 1;
            }
            out.push_str(&self.s[start..self.pos]);
            match self.b.get(self.pos) {
                None => return Err(self.err("unterminated string")),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let Some(&e) = self.b.get(self.pos) else {
                        return Err(self.err("unterminated string"));
                    };
                    self.pos += 1;
                    match e {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let hi = self.hex4()?;
                            let code = if (0xd800..0xdc00).contains(&hi) {
                                if self.b.get(self.pos..self.pos + 2) != Some(b"\\u") {
                                    return Err(self.err("unpaired surrogate in \\u escape"));
                                }
                                self.pos += 2;
                                let lo = self.hex4()?;
                                if !(0xdc00..0xe000).contains(&lo) {
                                    return Err(self.err("unpaired surrogate in \\u escape"));
                                }
                                0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00)
                            } else {
                                hi
                            };
                            let c = char::from_u32(code)
                                .ok_or_else(|| self.err("invalid \\u escape"))?;
                            out.push(c);
                        }
                        _ => return Err(self.err("invalid escape")),
                    }
                }
                Some(_) => return Err(self.err("control character in string")),
            }
        }
    }
}

// Thin dispatcher plus one never-inlined function per kind, as in the
// msgpack codec, to keep the per-level stack use small.
fn cty_json_to_value(
    ty: &Type,
    json: &Json,
    path: &Path,
    depth: usize,
    opts: DecodeJsonOpts,
) -> Result<Value, ValueError> {
    if depth > MAX_DEPTH {
        return Err(too_deep(path));
    }
    match (ty, json) {
        (_, Json::Null) => Ok(Value::Null),
        (Type::Dynamic, Json::Object(entries)) => json_dynamic(entries, path, depth, opts),
        (Type::Bool | Type::Number | Type::String, _) => json_primitive(ty, json, path),
        (Type::List(et) | Type::Set(et), Json::Array(xs)) => {
            let items = json_elements(std::iter::repeat(&**et), xs, path, depth, opts)?;
            Ok(if matches!(ty, Type::Set(_)) {
                Value::Set(items)
            } else {
                Value::List(items)
            })
        }
        (Type::Tuple(ets), Json::Array(xs)) => {
            if xs.len() != ets.len() {
                return Err(tuple_length(path, ets.len(), xs.len()));
            }
            Ok(Value::Tuple(json_elements(
                ets.iter(),
                xs,
                path,
                depth,
                opts,
            )?))
        }
        (Type::Map(et), Json::Object(entries)) => json_map(et, entries, path, depth, opts),
        (Type::Object(ot), Json::Object(entries)) => json_object(ot, entries, path, depth, opts),
        _ => Err(json_mismatch(ty, json, path)),
    }
}

#[cold]
#[inline(never)]
fn json_mismatch(ty: &Type, json: &Json, path: &Path) -> ValueError {
    let what = match ty {
        Type::Dynamic => "a {\"value\":...,\"type\":...} object for a dynamic value".to_string(),
        _ => ty.friendly_name(),
    };
    path.err(format!("expected {what}, found {}", json.kind()))
}

#[inline(never)]
fn json_primitive(ty: &Type, json: &Json, path: &Path) -> Result<Value, ValueError> {
    match (ty, json) {
        (Type::Bool, Json::Bool(b)) => Ok(Value::Bool(*b)),
        (Type::Bool, Json::String(s)) if s == "true" => Ok(Value::Bool(true)),
        (Type::Bool, Json::String(s)) if s == "false" => Ok(Value::Bool(false)),
        (Type::Number, Json::Number(s) | Json::String(s)) => {
            Ok(Value::Number(parse_number(s).map_err(|e| path.err(e))?))
        }
        (Type::String, Json::String(s) | Json::Number(s)) => Ok(Value::String(s.clone())),
        (Type::String, Json::Bool(b)) => Ok(Value::String(b.to_string())),
        _ => Err(json_mismatch(ty, json, path)),
    }
}

#[inline(never)]
fn json_dynamic(
    entries: &[(String, Json)],
    path: &Path,
    depth: usize,
    opts: DecodeJsonOpts,
) -> Result<Value, ValueError> {
    let (t, value_json) = json_dynamic_header(entries, path)?;
    let v = cty_json_to_value(&t, value_json, path, depth + 1, opts)?;
    if t == Type::Dynamic {
        return Ok(v);
    }
    Ok(Value::Dynamic(t, Box::new(v)))
}

#[inline(never)]
fn json_dynamic_header<'j>(
    entries: &'j [(String, Json)],
    path: &Path,
) -> Result<(Type, &'j Json), ValueError> {
    let (mut type_json, mut value_json) = (None, None);
    for (k, v) in entries {
        match k.as_str() {
            "type" => type_json = Some(v),
            "value" => value_json = Some(v),
            other => {
                return Err(path.err(format!(
                    "invalid key {} in a dynamic value (only \"value\" and \"type\")",
                    quote(other)
                )))
            }
        }
    }
    let Some(type_json) = type_json else {
        return Err(path.err("a dynamic value is missing its \"type\""));
    };
    let Some(value_json) = value_json else {
        return Err(path.err("a dynamic value is missing its \"value\""));
    };
    let t = Type::from_json_value(&type_json.to_serde()).map_err(|e| path.err(e.message))?;
    Ok((t, value_json))
}

#[inline(never)]
fn json_elements<'t>(
    types: impl Iterator<Item = &'t Type>,
    xs: &[Json],
    path: &Path,
    depth: usize,
    opts: DecodeJsonOpts,
) -> Result<Vec<Value>, ValueError> {
    let mut items = Vec::with_capacity(xs.len());
    for (i, (et, x)) in types.zip(xs).enumerate() {
        items.push(cty_json_to_value(
            et,
            x,
            &Path::Index(path, i),
            depth + 1,
            opts,
        )?);
    }
    Ok(items)
}

#[inline(never)]
fn json_map(
    et: &Type,
    entries: &[(String, Json)],
    path: &Path,
    depth: usize,
    opts: DecodeJsonOpts,
) -> Result<Value, ValueError> {
    let mut out = BTreeMap::new();
    for (k, x) in entries {
        let v = cty_json_to_value(et, x, &Path::Key(path, k), depth + 1, opts)?;
        out.insert(k.clone(), v);
    }
    Ok(Value::Map(out))
}

#[inline(never)]
fn json_object(
    ot: &ObjectType,
    entries: &[(String, Json)],
    path: &Path,
    depth: usize,
    opts: DecodeJsonOpts,
) -> Result<Value, ValueError> {
    let mut out = BTreeMap::new();
    for (k, x) in entries {
        let Some(at) = ot.attrs.get(k) else {
            if opts.ignore_unknown_attributes {
                continue;
            }
            return Err(unsupported_attribute(path, k));
        };
        let v = cty_json_to_value(at, x, &Path::Attr(path, k), depth + 1, opts)?;
        out.insert(k.clone(), v);
    }
    for name in ot.attrs.keys() {
        if !out.contains_key(name) {
            out.insert(name.clone(), Value::Null);
        }
    }
    Ok(Value::Object(out))
}

fn write_json(
    out: &mut String,
    ty: &Type,
    v: &Value,
    path: &Path,
    depth: usize,
) -> Result<(), ValueError> {
    if depth > MAX_DEPTH {
        return Err(too_deep(path));
    }
    match (ty, v) {
        (_, Value::Null) => out.push_str("null"),
        (_, Value::Unknown(_)) => {
            return Err(path.err("an unknown value cannot be encoded as JSON"))
        }
        (Type::Dynamic, _) => return write_json_dynamic(out, v, path, depth),
        (t, Value::Dynamic(vt, inner)) if t == vt => {
            return write_json(out, t, inner, path, depth + 1);
        }
        (Type::Bool, Value::Bool(b)) => out.push_str(if *b { "true" } else { "false" }),
        (Type::Number, Value::Number(n)) => {
            if n.is_infinite() {
                return Err(path.err("infinity cannot be encoded as JSON"));
            }
            let _ = write!(out, "{n}");
        }
        (Type::String, Value::String(s)) => out.push_str(&quote(s)),
        (Type::List(et), Value::List(xs)) | (Type::Set(et), Value::Set(xs)) => {
            return write_json_elements(out, std::iter::repeat(&**et), xs, path, depth);
        }
        (Type::Tuple(ets), Value::Tuple(xs)) => {
            if ets.len() != xs.len() {
                return Err(tuple_length(path, ets.len(), xs.len()));
            }
            return write_json_elements(out, ets.iter(), xs, path, depth);
        }
        (Type::Map(et), Value::Map(m)) => return write_json_map(out, et, m, path, depth),
        (Type::Object(ot), Value::Object(m)) => return write_json_object(out, ot, m, path, depth),
        _ => return Err(mismatch(ty, v, path)),
    }
    Ok(())
}

#[inline(never)]
fn write_json_dynamic(
    out: &mut String,
    v: &Value,
    path: &Path,
    depth: usize,
) -> Result<(), ValueError> {
    let (t, inner) = match v {
        Value::Dynamic(t, inner) => (t.clone(), &**inner),
        _ => match implied_primitive_type(v) {
            Some(t) => (t, v),
            None => return Err(bare_dynamic(path, v)),
        },
    };
    if t == Type::Dynamic {
        return write_json(out, &t, inner, path, depth + 1);
    }
    out.push_str("{\"value\":");
    write_json(out, &t, inner, path, depth + 1)?;
    out.push_str(",\"type\":");
    out.push_str(&t.to_json().to_string());
    out.push('}');
    Ok(())
}

#[inline(never)]
fn write_json_elements<'t>(
    out: &mut String,
    types: impl Iterator<Item = &'t Type>,
    xs: &[Value],
    path: &Path,
    depth: usize,
) -> Result<(), ValueError> {
    out.push('[');
    for (i, (et, x)) in types.zip(xs).enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_json(out, et, x, &Path::Index(path, i), depth + 1)?;
    }
    out.push(']');
    Ok(())
}

#[inline(never)]
fn write_json_map(
    out: &mut String,
    et: &Type,
    m: &BTreeMap<String, Value>,
    path: &Path,
    depth: usize,
) -> Result<(), ValueError> {
    out.push('{');
    for (i, (k, x)) in m.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&quote(k));
        out.push(':');
        write_json(out, et, x, &Path::Key(path, k), depth + 1)?;
    }
    out.push('}');
    Ok(())
}

#[inline(never)]
fn write_json_object(
    out: &mut String,
    ot: &ObjectType,
    m: &BTreeMap<String, Value>,
    path: &Path,
    depth: usize,
) -> Result<(), ValueError> {
    check_attributes(ot, m, path)?;
    out.push('{');
    for (i, (name, at)) in ot.attrs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&quote(name));
        out.push(':');
        let x = m.get(name).unwrap_or(&Value::Null);
        write_json(out, at, x, &Path::Attr(path, name), depth + 1)?;
    }
    out.push('}');
    Ok(())
}
