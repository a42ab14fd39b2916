//! [`Number`]: cty's arbitrary precision decimal, with the bounds that keep hostile input cheap.

use std::cmp::Ordering;
use std::fmt::{self, Write as _};
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use bigdecimal::num_bigint::{BigInt, Sign};
use bigdecimal::{BigDecimal, ToPrimitive, Zero};

use super::path::quote;
use super::ValueError;

/// Most significant decimal digits a number may have (cty itself keeps 512
/// bits, about 155 digits).
pub const MAX_NUMBER_DIGITS: u64 = 4096;

/// Largest magnitude of a number's decimal exponent (after removing trailing
/// zeros). Bounding it keeps comparisons and formatting cheap.
pub const MAX_NUMBER_SCALE: i64 = 16 * 1024;

/// Longest decimal text accepted for one number: room for the longest plain
/// decimal any accepted number displays as, so every number round-trips.
pub const MAX_NUMBER_TEXT_LEN: usize = 32 * 1024;

/// An arbitrary precision decimal number (or ±infinity, which cty also has).
///
/// Numbers are kept normalised (no trailing zeros in the coefficient), so
/// equality and hashing follow the numeric value: `1 == 1.0 == 1e0`. The
/// decimal exponent is bounded by [`MAX_NUMBER_SCALE`].
#[derive(Clone)]
pub struct Number(NumRepr);

#[derive(Clone)]
enum NumRepr {
    NegInf,
    /// Normalised: zero has scale 0, otherwise the coefficient has no
    /// trailing decimal zeros, and `|scale| <= MAX_NUMBER_SCALE`.
    Finite(BigDecimal),
    PosInf,
}

impl Number {
    pub fn zero() -> Number {
        Number(NumRepr::Finite(BigDecimal::zero()))
    }

    pub fn from_i64(i: i64) -> Number {
        Number::normalized(BigInt::from(i), 0)
    }

    pub fn from_u64(u: u64) -> Number {
        Number::normalized(BigInt::from(u), 0)
    }

    /// The exact value of `f` (every finite float is a finite decimal), so
    /// that a float received from Terraform is sent back as the same float.
    /// NaN, which cty cannot represent, becomes zero; use
    /// [`Number::try_from_f64`] to detect it.
    pub fn from_f64(f: f64) -> Number {
        Number::try_from_f64(f).unwrap_or_else(Number::zero)
    }

    /// Like [`Number::from_f64`], `None` for NaN.
    pub fn try_from_f64(f: f64) -> Option<Number> {
        if f.is_nan() {
            None
        } else if f == f64::INFINITY {
            Some(Number::positive_infinity())
        } else if f == f64::NEG_INFINITY {
            Some(Number::negative_infinity())
        } else {
            let (int, scale) = f64_exact_parts(f);
            Some(Number::normalized(int, scale))
        }
    }

    /// Parse a decimal number such as `-12.5`, `1e3`, `.5` or `Infinity`.
    /// Same as `s.parse::<Number>()`.
    pub fn parse(s: &str) -> Result<Number, ValueError> {
        parse_number(s).map_err(|m| ValueError::new("", m))
    }

    pub fn positive_infinity() -> Number {
        Number(NumRepr::PosInf)
    }

    pub fn negative_infinity() -> Number {
        Number(NumRepr::NegInf)
    }

    pub fn is_infinite(&self) -> bool {
        !matches!(self.0, NumRepr::Finite(_))
    }

    /// A finite number without fractional part.
    pub fn is_integer(&self) -> bool {
        match &self.0 {
            NumRepr::Finite(d) => d.as_bigint_and_scale().1 <= 0,
            _ => false,
        }
    }

    /// The value as an `i64` if it is exactly one.
    pub fn as_i64(&self) -> Option<i64> {
        self.as_exact_int()?.to_i64()
    }

    /// The value as a `u64` if it is exactly one.
    pub fn as_u64(&self) -> Option<u64> {
        self.as_exact_int()?.to_u64()
    }

    fn as_exact_int(&self) -> Option<BigInt> {
        let NumRepr::Finite(d) = &self.0 else {
            return None;
        };
        let (int, scale) = d.as_bigint_and_scale();
        if !(-20..=0).contains(&scale) {
            return None;
        }
        Some(int.into_owned() * BigInt::from(10u8).pow(scale.unsigned_abs() as u32))
    }

    /// The nearest `f64` (infinities map to infinities). `None` when a finite
    /// number is too large for an `f64`.
    pub fn as_f64(&self) -> Option<f64> {
        match &self.0 {
            NumRepr::NegInf => Some(f64::NEG_INFINITY),
            NumRepr::PosInf => Some(f64::INFINITY),
            NumRepr::Finite(d) => {
                let (int, scale) = d.as_bigint_and_scale();
                let f: f64 = format!("{int}e{}", -scale).parse().ok()?;
                f.is_finite().then_some(f)
            }
        }
    }

    /// The value as an `f64` only if that is exact.
    pub fn to_f64_exact(&self) -> Option<f64> {
        let f = self.as_f64()?;
        match &self.0 {
            NumRepr::Finite(_) => (Number::from_f64(f) == *self).then_some(f),
            _ => Some(f),
        }
    }

    /// The decimal value; `None` for the infinities.
    pub fn as_bigdecimal(&self) -> Option<&BigDecimal> {
        match &self.0 {
            NumRepr::Finite(d) => Some(d),
            _ => None,
        }
    }

    /// Build from coefficient and scale (value = int × 10^-scale), enforcing
    /// the exponent bound.
    fn checked(int: BigInt, scale: i64) -> Result<Number, String> {
        let n = Number::normalized(int, scale);
        if let NumRepr::Finite(d) = &n.0 {
            if d.as_bigint_and_scale().1.abs() > MAX_NUMBER_SCALE {
                return Err(format!(
                    "number is outside the supported range (decimal exponent beyond ±{MAX_NUMBER_SCALE})"
                ));
            }
            if d.digits() > MAX_NUMBER_DIGITS {
                return Err(format!(
                    "number has more than {MAX_NUMBER_DIGITS} significant digits"
                ));
            }
        }
        Ok(n)
    }

    fn normalized(int: BigInt, scale: i64) -> Number {
        if int.is_zero() {
            return Number::zero();
        }
        let digits = int.magnitude().to_str_radix(10);
        let trailing = digits.bytes().rev().take_while(|&b| b == b'0').count();
        if trailing == 0 {
            return Number(NumRepr::Finite(BigDecimal::new(int, scale)));
        }
        let Ok(trailing_u32) = u32::try_from(trailing) else {
            return Number(NumRepr::Finite(BigDecimal::new(int, scale)));
        };
        let int = int / BigInt::from(10u8).pow(trailing_u32);
        let scale = scale.saturating_sub(i64::from(trailing_u32));
        Number(NumRepr::Finite(BigDecimal::new(int, scale)))
    }
}

/// The exact decimal value of a finite float as (coefficient, scale).
fn f64_exact_parts(f: f64) -> (BigInt, i64) {
    if f == 0.0 {
        return (BigInt::zero(), 0);
    }
    let bits = f.to_bits();
    let negative = bits >> 63 == 1;
    let exp_bits = ((bits >> 52) & 0x7ff) as i64;
    let fraction = bits & ((1u64 << 52) - 1);
    let (mantissa, exp) = if exp_bits == 0 {
        (fraction, -1074)
    } else {
        (fraction | (1u64 << 52), exp_bits - 1075)
    };
    let mut int = BigInt::from(mantissa);
    let scale = if exp >= 0 {
        int <<= exp as usize;
        0
    } else {
        // m × 2^-k = m × 5^k / 10^k
        int *= BigInt::from(5u8).pow((-exp) as u32);
        -exp
    };
    if negative {
        int = -int;
    }
    (int, scale)
}

pub(super) fn parse_number(s: &str) -> Result<Number, String> {
    let bad = || {
        format!(
            "{} is not a decimal number",
            quote(&truncate_for_message(s))
        )
    };
    if s.len() > MAX_NUMBER_TEXT_LEN {
        return Err(format!(
            "number text is longer than {MAX_NUMBER_TEXT_LEN} bytes"
        ));
    }
    let (negative, rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if rest.eq_ignore_ascii_case("inf") || rest.eq_ignore_ascii_case("infinity") {
        return Ok(if negative {
            Number::negative_infinity()
        } else {
            Number::positive_infinity()
        });
    }
    let b = rest.as_bytes();
    let mut i = 0;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let int_digits = &rest[..i];
    let mut frac_digits = "";
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        frac_digits = &rest[start..i];
    }
    if int_digits.is_empty() && frac_digits.is_empty() {
        return Err(bad());
    }
    let mut exp: i64 = 0;
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        let mut exp_negative = false;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            exp_negative = b[i] == b'-';
            i += 1;
        }
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            // Saturate far beyond any accepted exponent.
            exp = (exp * 10 + i64::from(b[i] - b'0')).min(1_000_000_000_000);
            i += 1;
        }
        if start == i {
            return Err(bad());
        }
        if exp_negative {
            exp = -exp;
        }
    }
    if i != b.len() {
        return Err(bad());
    }
    let mut digits = String::with_capacity(int_digits.len() + frac_digits.len());
    digits.push_str(int_digits);
    digits.push_str(frac_digits);
    let mut int = BigInt::parse_bytes(digits.as_bytes(), 10).ok_or_else(bad)?;
    if negative {
        int = -int;
    }
    let frac_len = i64::try_from(frac_digits.len()).map_err(|_| bad())?;
    Number::checked(int, frac_len - exp)
}

fn truncate_for_message(s: &str) -> String {
    if s.len() <= 64 {
        return s.to_string();
    }
    let mut end = 64;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end])
}

impl FromStr for Number {
    type Err = ValueError;

    fn from_str(s: &str) -> Result<Number, ValueError> {
        Number::parse(s)
    }
}

impl From<i64> for Number {
    fn from(i: i64) -> Number {
        Number::from_i64(i)
    }
}

impl From<i32> for Number {
    fn from(i: i32) -> Number {
        Number::from_i64(i64::from(i))
    }
}

impl From<u64> for Number {
    fn from(u: u64) -> Number {
        Number::from_u64(u)
    }
}

impl From<u32> for Number {
    fn from(u: u32) -> Number {
        Number::from_u64(u64::from(u))
    }
}

impl From<usize> for Number {
    fn from(u: usize) -> Number {
        Number::normalized(BigInt::from(u), 0)
    }
}

impl TryFrom<f64> for Number {
    type Error = ValueError;

    fn try_from(f: f64) -> Result<Number, ValueError> {
        Number::try_from_f64(f).ok_or_else(|| ValueError::new("", "NaN is not a number"))
    }
}

impl TryFrom<BigDecimal> for Number {
    type Error = ValueError;

    fn try_from(d: BigDecimal) -> Result<Number, ValueError> {
        if d.digits() > MAX_NUMBER_TEXT_LEN as u64 {
            // Cheap guard before normalising; `checked` applies the real bound.
            return Err(ValueError::new("", "number has too many digits"));
        }
        let (int, scale) = d.into_bigint_and_scale();
        Number::checked(int, scale).map_err(|m| ValueError::new("", m))
    }
}

impl fmt::Display for Number {
    /// A plain decimal without exponent and without trailing zeros, e.g.
    /// `-12.5`, `1000`, `0.001`; the infinities are `Infinity`/`-Infinity`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            NumRepr::NegInf => f.write_str("-Infinity"),
            NumRepr::PosInf => f.write_str("Infinity"),
            NumRepr::Finite(d) => {
                let (int, scale) = d.as_bigint_and_scale();
                if int.sign() == Sign::Minus {
                    f.write_char('-')?;
                }
                let digits = int.magnitude().to_str_radix(10);
                if scale <= 0 {
                    f.write_str(&digits)?;
                    for _ in 0..scale.unsigned_abs() {
                        f.write_char('0')?;
                    }
                    Ok(())
                } else {
                    let scale = usize::try_from(scale).unwrap_or(usize::MAX);
                    if digits.len() > scale {
                        let (a, b) = digits.split_at(digits.len() - scale);
                        write!(f, "{a}.{b}")
                    } else {
                        f.write_str("0.")?;
                        for _ in 0..scale - digits.len() {
                            f.write_char('0')?;
                        }
                        f.write_str(&digits)
                    }
                }
            }
        }
    }
}

impl fmt::Debug for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Number({self})")
    }
}

impl PartialEq for Number {
    fn eq(&self, other: &Number) -> bool {
        match (&self.0, &other.0) {
            (NumRepr::NegInf, NumRepr::NegInf) | (NumRepr::PosInf, NumRepr::PosInf) => true,
            // Both normalised: the same value has the same representation.
            (NumRepr::Finite(a), NumRepr::Finite(b)) => {
                a.as_bigint_and_scale() == b.as_bigint_and_scale()
            }
            _ => false,
        }
    }
}

impl Eq for Number {}

impl Hash for Number {
    fn hash<H: Hasher>(&self, state: &mut H) {
        match &self.0 {
            NumRepr::NegInf => state.write_u8(0),
            NumRepr::Finite(d) => {
                state.write_u8(1);
                let (int, scale) = d.as_bigint_and_scale();
                int.hash(state);
                scale.hash(state);
            }
            NumRepr::PosInf => state.write_u8(2),
        }
    }
}

impl PartialOrd for Number {
    fn partial_cmp(&self, other: &Number) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Number {
    /// Numeric order, with the infinities at the ends.
    fn cmp(&self, other: &Number) -> Ordering {
        fn rank(n: &NumRepr) -> u8 {
            match n {
                NumRepr::NegInf => 0,
                NumRepr::Finite(_) => 1,
                NumRepr::PosInf => 2,
            }
        }
        match (&self.0, &other.0) {
            (NumRepr::Finite(a), NumRepr::Finite(b)) => a.cmp(b),
            (a, b) => rank(a).cmp(&rank(b)),
        }
    }
}
