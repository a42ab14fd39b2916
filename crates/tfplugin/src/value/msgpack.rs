//! The msgpack codec: how every `DynamicValue` normally travels.
//!
//! See the module docs of [`crate::value`] for the wire rules (unknowns as extensions, refined
//! unknowns as extension 12, numbers, objects, dynamic values).

use std::collections::BTreeMap;
use std::fmt;

use rmp::Marker;

use super::number::parse_number;
use super::path::{
    bare_dynamic, check_attributes, mismatch, too_deep, tuple_length, unsupported_attribute, Path,
};
use super::{
    implied_primitive_type, Number, ObjectType, Refinements, Type, Value, ValueError, MAX_DEPTH,
};

/// cty refuses refinement payloads larger than this; so do we.
const MAX_REFINEMENT_PAYLOAD: usize = 1024;

/// msgpack extension type of a refined unknown value.
const EXT_REFINED_UNKNOWN: i8 = 12;

const UNKNOWN_BYTES: [u8; 3] = [0xd4, 0x00, 0x00];

// Decoding.

/// Decode msgpack bytes as a value of type `ty`. Empty input is null.
pub fn decode_msgpack(ty: &Type, bytes: &[u8]) -> Result<Value, ValueError> {
    if bytes.is_empty() {
        return Ok(Value::Null);
    }
    let mut r = Reader { buf: bytes, pos: 0 };
    let v = r.value(ty, &Path::Root, 0)?;
    if r.pos != bytes.len() {
        return Err(Path::Root.err(format!(
            "{} unexpected bytes after the msgpack value",
            bytes.len() - r.pos
        )));
    }
    Ok(v)
}

enum Int {
    U(u64),
    I(i64),
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

fn marker_name(m: Marker) -> String {
    match m {
        Marker::Null => "nil".into(),
        Marker::True | Marker::False => "bool".into(),
        Marker::FixPos(_)
        | Marker::FixNeg(_)
        | Marker::U8
        | Marker::U16
        | Marker::U32
        | Marker::U64
        | Marker::I8
        | Marker::I16
        | Marker::I32
        | Marker::I64 => "integer".into(),
        Marker::F32 | Marker::F64 => "float".into(),
        Marker::FixStr(_) | Marker::Str8 | Marker::Str16 | Marker::Str32 => "string".into(),
        Marker::Bin8 | Marker::Bin16 | Marker::Bin32 => "binary".into(),
        Marker::FixArray(_) | Marker::Array16 | Marker::Array32 => "array".into(),
        Marker::FixMap(_) | Marker::Map16 | Marker::Map32 => "map".into(),
        Marker::FixExt1
        | Marker::FixExt2
        | Marker::FixExt4
        | Marker::FixExt8
        | Marker::FixExt16
        | Marker::Ext8
        | Marker::Ext16
        | Marker::Ext32 => "extension".into(),
        Marker::Reserved => "the reserved byte 0xc1".into(),
    }
}

#[cold]
#[inline(never)]
fn expected_marker(path: &Path, what: &str, m: Marker) -> ValueError {
    path.err(format!("expected {what}, found msgpack {}", marker_name(m)))
}

fn is_ext(m: Marker) -> bool {
    matches!(
        m,
        Marker::FixExt1
            | Marker::FixExt2
            | Marker::FixExt4
            | Marker::FixExt8
            | Marker::FixExt16
            | Marker::Ext8
            | Marker::Ext16
            | Marker::Ext32
    )
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn peek(&self, path: &Path) -> Result<Marker, ValueError> {
        match self.buf.get(self.pos) {
            Some(&b) => Ok(Marker::from_u8(b)),
            None => Err(path.err("unexpected end of msgpack input")),
        }
    }

    fn marker(&mut self, path: &Path) -> Result<Marker, ValueError> {
        let m = self.peek(path)?;
        self.pos += 1;
        Ok(m)
    }

    fn take(&mut self, n: usize, path: &Path) -> Result<&'a [u8], ValueError> {
        if n > self.remaining() {
            return Err(path.err(format!(
                "msgpack input declares {n} bytes but only {} remain",
                self.remaining()
            )));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn be(&mut self, n: usize, path: &Path) -> Result<u64, ValueError> {
        let s = self.take(n, path)?;
        Ok(s.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
    }

    fn be_usize(&mut self, n: usize, path: &Path) -> Result<usize, ValueError> {
        let v = self.be(n, path)?;
        usize::try_from(v).map_err(|_| path.err("msgpack length does not fit in memory"))
    }

    /// The length that follows a string marker, or `None` for other markers.
    fn str_len(&mut self, m: Marker, path: &Path) -> Result<Option<usize>, ValueError> {
        Ok(Some(match m {
            Marker::FixStr(n) => usize::from(n),
            Marker::Str8 => self.be_usize(1, path)?,
            Marker::Str16 => self.be_usize(2, path)?,
            Marker::Str32 => self.be_usize(4, path)?,
            _ => return Ok(None),
        }))
    }

    fn bin_len(&mut self, m: Marker, path: &Path) -> Result<Option<usize>, ValueError> {
        Ok(Some(match m {
            Marker::Bin8 => self.be_usize(1, path)?,
            Marker::Bin16 => self.be_usize(2, path)?,
            Marker::Bin32 => self.be_usize(4, path)?,
            _ => return Ok(None),
        }))
    }

    /// Array length, checked against the remaining input (every element
    /// takes at least one byte).
    fn array_len(&mut self, m: Marker, path: &Path) -> Result<Option<usize>, ValueError> {
        let n = match m {
            Marker::FixArray(n) => usize::from(n),
            Marker::Array16 => self.be_usize(2, path)?,
            Marker::Array32 => self.be_usize(4, path)?,
            _ => return Ok(None),
        };
        if n > self.remaining() {
            return Err(path.err(format!(
                "msgpack array declares {n} elements but only {} bytes remain",
                self.remaining()
            )));
        }
        Ok(Some(n))
    }

    /// Map length, checked against the remaining input (every entry takes
    /// at least two bytes).
    fn map_len(&mut self, m: Marker, path: &Path) -> Result<Option<usize>, ValueError> {
        let n = match m {
            Marker::FixMap(n) => usize::from(n),
            Marker::Map16 => self.be_usize(2, path)?,
            Marker::Map32 => self.be_usize(4, path)?,
            _ => return Ok(None),
        };
        if n > self.remaining() / 2 {
            return Err(path.err(format!(
                "msgpack map declares {n} entries but only {} bytes remain",
                self.remaining()
            )));
        }
        Ok(Some(n))
    }

    /// Extension header: (payload length, extension type).
    fn ext_header(&mut self, m: Marker, path: &Path) -> Result<Option<(usize, i8)>, ValueError> {
        let len = match m {
            Marker::FixExt1 => 1,
            Marker::FixExt2 => 2,
            Marker::FixExt4 => 4,
            Marker::FixExt8 => 8,
            Marker::FixExt16 => 16,
            Marker::Ext8 => self.be_usize(1, path)?,
            Marker::Ext16 => self.be_usize(2, path)?,
            Marker::Ext32 => self.be_usize(4, path)?,
            _ => return Ok(None),
        };
        let ty = self.take(1, path)?[0] as i8;
        Ok(Some((len, ty)))
    }

    fn int(&mut self, m: Marker, path: &Path) -> Result<Option<Int>, ValueError> {
        Ok(Some(match m {
            Marker::FixPos(n) => Int::U(u64::from(n)),
            Marker::FixNeg(n) => Int::I(i64::from(n)),
            Marker::U8 => Int::U(self.be(1, path)?),
            Marker::U16 => Int::U(self.be(2, path)?),
            Marker::U32 => Int::U(self.be(4, path)?),
            Marker::U64 => Int::U(self.be(8, path)?),
            Marker::I8 => Int::I(i64::from(self.be(1, path)? as u8 as i8)),
            Marker::I16 => Int::I(i64::from(self.be(2, path)? as u16 as i16)),
            Marker::I32 => Int::I(i64::from(self.be(4, path)? as u32 as i32)),
            Marker::I64 => Int::I(self.be(8, path)? as i64),
            _ => return Ok(None),
        }))
    }

    fn utf8(&mut self, len: usize, path: &Path) -> Result<&'a str, ValueError> {
        let bytes = self.take(len, path)?;
        std::str::from_utf8(bytes).map_err(|_| path.err("string is not valid UTF-8"))
    }

    /// A msgpack str (or bin holding UTF-8).
    fn string(&mut self, what: &str, path: &Path) -> Result<&'a str, ValueError> {
        let m = self.marker(path)?;
        if let Some(len) = self.str_len(m, path)? {
            return self.utf8(len, path);
        }
        if let Some(len) = self.bin_len(m, path)? {
            return self.utf8(len, path);
        }
        Err(path.err(format!("expected {what}, found msgpack {}", marker_name(m))))
    }

    // The decoder recurses once per nesting level, so `value` only
    // dispatches: each kind is decoded in its own small, never-inlined
    // function, which keeps the per-level stack use small even in debug
    // builds.
    fn value(&mut self, ty: &Type, path: &Path, depth: usize) -> Result<Value, ValueError> {
        if depth > MAX_DEPTH {
            return Err(too_deep(path));
        }
        let m = self.peek(path)?;
        if is_ext(m) {
            return self.unknown(ty, path, depth);
        }
        if m == Marker::Null {
            self.pos += 1;
            return Ok(Value::Null);
        }
        match ty {
            Type::Dynamic => self.dynamic(path, depth),
            Type::Bool => self.bool_value(path),
            Type::Number => self.number_value(path),
            Type::String => self.string_value(path),
            Type::List(et) => self.sequence(ty, et, path, depth),
            Type::Set(et) => self.sequence(ty, et, path, depth),
            Type::Tuple(ets) => self.tuple(ets, path, depth),
            Type::Map(et) => self.map_value(ty, et, path, depth),
            Type::Object(ot) => self.object(ot, path, depth),
        }
    }

    /// An array header for `ty`, with exactly `want` elements if given.
    #[inline(never)]
    fn array_header(
        &mut self,
        ty: &Type,
        want: Option<usize>,
        path: &Path,
    ) -> Result<usize, ValueError> {
        let m = self.marker(path)?;
        let Some(n) = self.array_len(m, path)? else {
            return Err(expected_marker(path, &ty.friendly_name(), m));
        };
        match want {
            Some(want) if want != n => {
                Err(path.err(format!("expected a tuple of {want} elements, found {n}")))
            }
            _ => Ok(n),
        }
    }

    #[inline(never)]
    fn map_header(&mut self, ty: &Type, path: &Path) -> Result<usize, ValueError> {
        let m = self.marker(path)?;
        match self.map_len(m, path)? {
            Some(n) => Ok(n),
            None => Err(expected_marker(path, &ty.friendly_name(), m)),
        }
    }

    #[inline(never)]
    fn bool_value(&mut self, path: &Path) -> Result<Value, ValueError> {
        match self.marker(path)? {
            Marker::True => Ok(Value::Bool(true)),
            Marker::False => Ok(Value::Bool(false)),
            m => Err(expected_marker(path, "bool", m)),
        }
    }

    #[inline(never)]
    fn number_value(&mut self, path: &Path) -> Result<Value, ValueError> {
        Ok(Value::Number(self.number(path)?))
    }

    #[inline(never)]
    fn string_value(&mut self, path: &Path) -> Result<Value, ValueError> {
        Ok(Value::String(self.string("string", path)?.to_string()))
    }

    #[inline(never)]
    fn sequence(
        &mut self,
        ty: &Type,
        et: &Type,
        path: &Path,
        depth: usize,
    ) -> Result<Value, ValueError> {
        let n = self.array_header(ty, None, path)?;
        let mut items = Vec::with_capacity(n);
        for i in 0..n {
            items.push(self.value(et, &Path::Index(path, i), depth + 1)?);
        }
        Ok(if matches!(ty, Type::Set(_)) {
            Value::Set(items)
        } else {
            Value::List(items)
        })
    }

    #[inline(never)]
    fn tuple(&mut self, ets: &[Type], path: &Path, depth: usize) -> Result<Value, ValueError> {
        let n = self.array_header(&Type::Tuple(Vec::new()), Some(ets.len()), path)?;
        let mut items = Vec::with_capacity(n);
        for (i, et) in ets.iter().enumerate() {
            items.push(self.value(et, &Path::Index(path, i), depth + 1)?);
        }
        Ok(Value::Tuple(items))
    }

    #[inline(never)]
    fn map_value(
        &mut self,
        ty: &Type,
        et: &Type,
        path: &Path,
        depth: usize,
    ) -> Result<Value, ValueError> {
        let n = self.map_header(ty, path)?;
        let mut out = BTreeMap::new();
        for _ in 0..n {
            let key = self.string("a string map key", path)?;
            let v = self.value(et, &Path::Key(path, key), depth + 1)?;
            out.insert(key.to_string(), v);
        }
        Ok(Value::Map(out))
    }

    #[inline(never)]
    fn object(&mut self, ot: &ObjectType, path: &Path, depth: usize) -> Result<Value, ValueError> {
        let n = self.map_header(&Type::Object(ObjectType::default()), path)?;
        let mut out = BTreeMap::new();
        for _ in 0..n {
            let key = self.string("a string attribute name", path)?;
            let Some(at) = ot.attrs.get(key) else {
                return Err(unsupported_attribute(path, key));
            };
            let v = self.value(at, &Path::Attr(path, key), depth + 1)?;
            out.insert(key.to_string(), v);
        }
        for name in ot.attrs.keys() {
            if !out.contains_key(name) {
                out.insert(name.clone(), Value::Null);
            }
        }
        Ok(Value::Object(out))
    }

    #[inline(never)]
    fn dynamic(&mut self, path: &Path, depth: usize) -> Result<Value, ValueError> {
        let ty = self.dynamic_header(path)?;
        let v = self.value(&ty, path, depth + 1)?;
        if ty == Type::Dynamic {
            // A dynamic value whose type is "dynamic" is just that value.
            return Ok(v);
        }
        Ok(Value::Dynamic(ty, Box::new(v)))
    }

    /// The `[type, ` part of a dynamic value.
    #[inline(never)]
    fn dynamic_header(&mut self, path: &Path) -> Result<Type, ValueError> {
        let m = self.marker(path)?;
        if self.array_len(m, path)? != Some(2) {
            return Err(path.err(format!(
                "a dynamic value must be a 2-element msgpack array [type, value], found {}",
                marker_name(m)
            )));
        }
        let m = self.marker(path)?;
        let len = if let Some(len) = self.bin_len(m, path)? {
            len
        } else if let Some(len) = self.str_len(m, path)? {
            len
        } else {
            return Err(path.err(format!(
                "a dynamic value's type must be msgpack bin or str, found {}",
                marker_name(m)
            )));
        };
        let type_json = self.take(len, path)?;
        Type::from_json(type_json).map_err(|e| path.err(e.message))
    }

    fn number(&mut self, path: &Path) -> Result<Number, ValueError> {
        let m = self.marker(path)?;
        match self.int(m, path)? {
            Some(Int::U(u)) => return Ok(Number::from_u64(u)),
            Some(Int::I(i)) => return Ok(Number::from_i64(i)),
            None => {}
        }
        let float = match m {
            Marker::F32 => Some(f64::from(f32::from_bits(self.be(4, path)? as u32))),
            Marker::F64 => Some(f64::from_bits(self.be(8, path)?)),
            _ => None,
        };
        if let Some(f) = float {
            return Number::try_from_f64(f).ok_or_else(|| path.err("NaN is not a valid number"));
        }
        if let Some(len) = self.str_len(m, path)? {
            let s = self.utf8(len, path)?;
            return parse_number(s).map_err(|e| path.err(e));
        }
        Err(path.err(format!("expected number, found msgpack {}", marker_name(m))))
    }

    #[inline(never)]
    fn unknown(&mut self, ty: &Type, path: &Path, depth: usize) -> Result<Value, ValueError> {
        let m = self.marker(path)?;
        let Some((len, ext_type)) = self.ext_header(m, path)? else {
            return Err(path.err("expected a msgpack extension"));
        };
        let payload = self.take(len, path)?;
        if len <= 1 || ext_type != EXT_REFINED_UNKNOWN || *ty == Type::Dynamic {
            // Any other extension is a plain unknown; its payload is ignored.
            // cty never refines values of the dynamic pseudo-type.
            return Ok(Value::unknown());
        }
        if len > MAX_REFINEMENT_PAYLOAD {
            return Err(path.err(format!(
                "unknown value refinements are larger than {MAX_REFINEMENT_PAYLOAD} bytes"
            )));
        }
        let mut r = Reader {
            buf: payload,
            pos: 0,
        };
        let v = r.refinements(ty, path, depth)?;
        // A number bound written short (`"1e900"`) is written back in full: refuse what could
        // not be sent on again, so that every decoded value encodes.
        if let Value::Unknown(refinements) = &v {
            let mut again = Vec::new();
            encode_unknown(&mut again, ty, refinements, path)?;
            let header = match again.first() {
                Some(0xc7) => 3,
                Some(0xc8) => 4,
                Some(0xc9) => 6,
                _ => 2,
            };
            if again.len() - header > MAX_REFINEMENT_PAYLOAD {
                return Err(path.err(format!(
                    "unknown value refinements are larger than {MAX_REFINEMENT_PAYLOAD} bytes once written out"
                )));
            }
        }
        Ok(v)
    }

    fn refinements(&mut self, ty: &Type, path: &Path, depth: usize) -> Result<Value, ValueError> {
        let bad = |what: &str| path.err(format!("invalid unknown value refinements: {what}"));
        let m = self.marker(path)?;
        let Some(n) = self.map_len(m, path)? else {
            return Err(bad("payload is not a msgpack map"));
        };
        let mut refinements = Refinements::default();
        let mut definitely_null = false;
        for _ in 0..n {
            let km = self.marker(path)?;
            let key = match self.int(km, path)? {
                Some(Int::I(i)) => i,
                Some(Int::U(u)) => i64::try_from(u).unwrap_or(i64::MAX),
                None => return Err(bad("non-integer key")),
            };
            match key {
                1 => match self.marker(path)? {
                    Marker::True => definitely_null = true,
                    Marker::False => refinements.not_null = true,
                    _ => return Err(bad("nullness is not a bool")),
                },
                2 => {
                    if *ty != Type::String {
                        return Err(bad("string prefix for a value that is not a string"));
                    }
                    let prefix = self
                        .string("a string prefix", path)
                        .map_err(|_| bad("string prefix is not a valid string"))?;
                    if !prefix.is_empty() {
                        refinements.string_prefix = Some(prefix.to_string());
                    }
                }
                3 | 4 => {
                    if *ty != Type::Number {
                        return Err(bad("number bound for a value that is not a number"));
                    }
                    let bm = self.marker(path)?;
                    if self.array_len(bm, path)? != Some(2) {
                        return Err(bad("number bound is not a [number, bool] array"));
                    }
                    if is_ext(self.peek(path)?) || self.peek(path)? == Marker::Null {
                        return Err(bad("number bound is not a known number"));
                    }
                    let bound = self.number(path)?;
                    let inclusive = match self.marker(path)? {
                        Marker::True => true,
                        Marker::False => false,
                        _ => return Err(bad("number bound inclusiveness is not a bool")),
                    };
                    if key == 3 {
                        refinements.number_lower = Some((bound, inclusive));
                    } else {
                        refinements.number_upper = Some((bound, inclusive));
                    }
                }
                5 | 6 => {
                    if !ty.is_collection() {
                        return Err(bad("length bound for a value that is not a collection"));
                    }
                    let lm = self.marker(path)?;
                    let bound = match self.int(lm, path)? {
                        Some(Int::U(u)) => u,
                        Some(Int::I(i)) => {
                            u64::try_from(i).map_err(|_| bad("negative length bound"))?
                        }
                        None => return Err(bad("length bound is not an integer")),
                    };
                    if key == 5 {
                        refinements.length_min = Some(bound);
                    } else {
                        refinements.length_max = Some(bound);
                    }
                }
                // Future refinements: skip what we do not know.
                _ => self.skip(path, depth + 1)?,
            }
        }
        // Bytes after the map are ignored, as cty does.
        if definitely_null {
            return Ok(Value::Null);
        }
        Ok(Value::Unknown(refinements))
    }

    /// Skip one msgpack value of any kind.
    fn skip(&mut self, path: &Path, depth: usize) -> Result<(), ValueError> {
        if depth > MAX_DEPTH {
            return Err(path.err(format!("value is nested deeper than {MAX_DEPTH}")));
        }
        let m = self.marker(path)?;
        if self.int(m, path)?.is_some() {
            return Ok(());
        }
        if let Some(len) = self.str_len(m, path)? {
            self.take(len, path)?;
            return Ok(());
        }
        if let Some(len) = self.bin_len(m, path)? {
            self.take(len, path)?;
            return Ok(());
        }
        if let Some(n) = self.array_len(m, path)? {
            for _ in 0..n {
                self.skip(path, depth + 1)?;
            }
            return Ok(());
        }
        if let Some(n) = self.map_len(m, path)? {
            for _ in 0..n * 2 {
                self.skip(path, depth + 1)?;
            }
            return Ok(());
        }
        if let Some((len, _)) = self.ext_header(m, path)? {
            self.take(len, path)?;
            return Ok(());
        }
        match m {
            Marker::Null | Marker::True | Marker::False => Ok(()),
            Marker::F32 => self.take(4, path).map(|_| ()),
            Marker::F64 => self.take(8, path).map(|_| ()),
            m => Err(path.err(format!("invalid msgpack: {}", marker_name(m)))),
        }
    }
}

// Encoding.

/// Encode `v` as msgpack for type `ty`. A value that does not conform to the
/// type is an error naming where. Missing object attributes are written as
/// null.
pub fn encode_msgpack(ty: &Type, v: &Value) -> Result<Vec<u8>, ValueError> {
    let mut out = Vec::new();
    encode_value(&mut out, ty, v, &Path::Root, 0)?;
    Ok(out)
}

fn wrote<T, E: fmt::Display>(r: Result<T, E>, path: &Path) -> Result<(), ValueError> {
    r.map(|_| ())
        .map_err(|e| path.err(format!("msgpack write failed: {e}")))
}

fn len_u32(n: usize, path: &Path) -> Result<u32, ValueError> {
    u32::try_from(n).map_err(|_| path.err("too many elements for msgpack"))
}

// Like the decoder, the encoder recurses once per nesting level and keeps the
// recursive frames small by doing each kind in its own never-inlined function.
fn encode_value(
    out: &mut Vec<u8>,
    ty: &Type,
    v: &Value,
    path: &Path,
    depth: usize,
) -> Result<(), ValueError> {
    if depth > MAX_DEPTH {
        return Err(too_deep(path));
    }
    match (ty, v) {
        (_, Value::Null) => wrote(rmp::encode::write_nil(out), path),
        (_, Value::Unknown(r)) => encode_unknown(out, ty, r, path),
        (Type::Dynamic, _) => encode_dynamic(out, v, path, depth),
        (t, Value::Dynamic(vt, inner)) if t == vt => encode_value(out, t, inner, path, depth + 1),
        (Type::Bool, Value::Bool(b)) => wrote(rmp::encode::write_bool(out, *b), path),
        (Type::Number, Value::Number(n)) => encode_number(out, n, path),
        (Type::String, Value::String(s)) => wrote(rmp::encode::write_str(out, s), path),
        (Type::List(et), Value::List(xs)) | (Type::Set(et), Value::Set(xs)) => {
            encode_elements(out, std::iter::repeat(&**et), xs, path, depth)
        }
        (Type::Tuple(ets), Value::Tuple(xs)) => {
            if ets.len() != xs.len() {
                return Err(tuple_length(path, ets.len(), xs.len()));
            }
            encode_elements(out, ets.iter(), xs, path, depth)
        }
        (Type::Map(et), Value::Map(m)) => encode_map(out, et, m, path, depth),
        (Type::Object(ot), Value::Object(m)) => encode_object(out, ot, m, path, depth),
        _ => Err(mismatch(ty, v, path)),
    }
}

#[inline(never)]
fn encode_dynamic(
    out: &mut Vec<u8>,
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
    if t != Type::Dynamic {
        wrote(rmp::encode::write_array_len(out, 2), path)?;
        wrote(rmp::encode::write_bin(out, &t.to_json_bytes()), path)?;
    }
    encode_value(out, &t, inner, path, depth + 1)
}

#[inline(never)]
fn encode_elements<'t>(
    out: &mut Vec<u8>,
    types: impl Iterator<Item = &'t Type>,
    xs: &[Value],
    path: &Path,
    depth: usize,
) -> Result<(), ValueError> {
    wrote(
        rmp::encode::write_array_len(out, len_u32(xs.len(), path)?),
        path,
    )?;
    for (i, (et, x)) in types.zip(xs).enumerate() {
        encode_value(out, et, x, &Path::Index(path, i), depth + 1)?;
    }
    Ok(())
}

#[inline(never)]
fn encode_map(
    out: &mut Vec<u8>,
    et: &Type,
    m: &BTreeMap<String, Value>,
    path: &Path,
    depth: usize,
) -> Result<(), ValueError> {
    wrote(
        rmp::encode::write_map_len(out, len_u32(m.len(), path)?),
        path,
    )?;
    for (k, x) in m {
        wrote(rmp::encode::write_str(out, k), path)?;
        encode_value(out, et, x, &Path::Key(path, k), depth + 1)?;
    }
    Ok(())
}

#[inline(never)]
fn encode_object(
    out: &mut Vec<u8>,
    ot: &ObjectType,
    m: &BTreeMap<String, Value>,
    path: &Path,
    depth: usize,
) -> Result<(), ValueError> {
    check_attributes(ot, m, path)?;
    wrote(
        rmp::encode::write_map_len(out, len_u32(ot.attrs.len(), path)?),
        path,
    )?;
    for (name, at) in &ot.attrs {
        wrote(rmp::encode::write_str(out, name), path)?;
        let x = m.get(name).unwrap_or(&Value::Null);
        encode_value(out, at, x, &Path::Attr(path, name), depth + 1)?;
    }
    Ok(())
}

fn encode_number(out: &mut Vec<u8>, n: &Number, path: &Path) -> Result<(), ValueError> {
    if let Some(i) = n.as_i64() {
        return wrote(rmp::encode::write_sint(out, i), path);
    }
    if let Some(f) = n.to_f64_exact() {
        return wrote(rmp::encode::write_f64(out, f), path);
    }
    wrote(rmp::encode::write_str(out, &n.to_string()), path)
}

fn encode_unknown(
    out: &mut Vec<u8>,
    ty: &Type,
    r: &Refinements,
    path: &Path,
) -> Result<(), ValueError> {
    let r = r.for_type(ty);
    if r.is_empty() {
        out.extend_from_slice(&UNKNOWN_BYTES);
        return Ok(());
    }
    let mut body = Vec::new();
    let mut entries = 0u32;
    if r.not_null {
        entries += 1;
        wrote(rmp::encode::write_sint(&mut body, 1), path)?;
        // The nullness key holds "is null"; false means definitely not null.
        wrote(rmp::encode::write_bool(&mut body, false), path)?;
    }
    if let Some(prefix) = &r.string_prefix {
        entries += 1;
        wrote(rmp::encode::write_sint(&mut body, 2), path)?;
        wrote(rmp::encode::write_str(&mut body, prefix), path)?;
    }
    for (key, bound) in [(3, &r.number_lower), (4, &r.number_upper)] {
        if let Some((n, inclusive)) = bound {
            entries += 1;
            wrote(rmp::encode::write_sint(&mut body, key), path)?;
            wrote(rmp::encode::write_array_len(&mut body, 2), path)?;
            encode_number(&mut body, n, path)?;
            wrote(rmp::encode::write_bool(&mut body, *inclusive), path)?;
        }
    }
    for (key, bound) in [(5, r.length_min), (6, r.length_max)] {
        if let Some(n) = bound {
            entries += 1;
            wrote(rmp::encode::write_sint(&mut body, key), path)?;
            wrote(rmp::encode::write_uint(&mut body, n), path)?;
        }
    }
    let mut head = Vec::new();
    wrote(rmp::encode::write_map_len(&mut head, entries), path)?;
    let len = len_u32(head.len() + body.len(), path)?;
    wrote(
        rmp::encode::write_ext_meta(out, len, EXT_REFINED_UNKNOWN),
        path,
    )?;
    out.extend_from_slice(&head);
    out.extend_from_slice(&body);
    Ok(())
}
