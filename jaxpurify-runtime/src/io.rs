//! Saving and loading trees of tensors as JSON or safetensors, keyed by
//! leaf path (`field.xi`, `layers.1.w`), so files are readable from Python
//! (`safetensors.numpy.load_file`, `json.load`) and by eye.
//!
//! Every `f64` comes back with the bits it was saved with, in both formats.
//! JSON has no NaN or infinities, so the values it cannot write as numbers
//! are strings that Python's `float` reads: `"Infinity"`, `"-Infinity"`,
//! `"NaN"` and `"-NaN"` (the quiet NaNs without payload), and
//! `"NaN:0x7ff8000000000001"` with the bits of any other NaN. Signed zeros
//! and subnormals are numbers (`-0.0`, `5e-324`).
//!
//! ```
//! use jaxpurify_runtime::{io, Tensor};
//! let x = Tensor::from([1.5, f64::INFINITY, f64::NAN, -0.0]);
//! let json = io::to_json(&x);
//! assert!(json.contains("\"Infinity\"") && json.contains("\"NaN\""));
//! let back = io::from_json_like(&x, &json)?;
//! let bits = |t: &Tensor| t.to_vec().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
//! assert_eq!(bits(&back), bits(&x));
//! # Ok::<(), jaxpurify_runtime::Error>(())
//! ```

use crate::error::{Error, Result, printable, quoted};
use crate::shape::Shape;
use crate::tensor::Tensor;
use crate::tree::{Path, Tree};
use safetensors::tensor::TensorView;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeSeq, Serializer};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

/// One saved leaf: its shape and row-major values.
#[derive(serde::Serialize, serde::Deserialize)]
struct Entry {
    shape: Vec<usize>,
    #[serde(serialize_with = "write_values", deserialize_with = "read_values")]
    data: Vec<f64>,
}

/// The quiet NaNs without payload, positive and negative (the latter is what
/// x86 computes for `0.0 / 0.0`).
const NAN: u64 = 0x7ff8_0000_0000_0000;
const NEGATIVE_NAN: u64 = 0xfff8_0000_0000_0000;

/// `v` as JSON: a number when finite, else one of the strings above.
fn json_value(v: f64) -> serde_json::Value {
    let text = match v.to_bits() {
        _ if v.is_finite() => return v.into(),
        _ if v == f64::INFINITY => "Infinity".to_string(),
        _ if v == f64::NEG_INFINITY => "-Infinity".to_string(),
        NAN => "NaN".to_string(),
        NEGATIVE_NAN => "-NaN".to_string(),
        bits => format!("NaN:0x{bits:016x}"),
    };
    serde_json::Value::String(text)
}

/// The value a string of [`json_value`] stands for.
fn from_json_text(text: &str) -> Option<f64> {
    let bits = match text {
        "Infinity" => return Some(f64::INFINITY),
        "-Infinity" => return Some(f64::NEG_INFINITY),
        "NaN" => NAN,
        "-NaN" => NEGATIVE_NAN,
        _ => u64::from_str_radix(text.strip_prefix("NaN:0x")?, 16).ok()?,
    };
    Some(f64::from_bits(bits)).filter(|v| v.is_nan())
}

fn write_values<S: Serializer>(values: &[f64], serializer: S) -> std::result::Result<S::Ok, S::Error> {
    let mut seq = serializer.serialize_seq(Some(values.len()))?;
    for &v in values {
        seq.serialize_element(&json_value(v))?;
    }
    seq.end()
}

fn read_values<'de, D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Vec<f64>, D::Error> {
    deserializer.deserialize_seq(ValuesVisitor)
}

/// Reads `data`: numbers, and the strings [`json_value`] writes.
struct ValuesVisitor;

impl<'de> Visitor<'de> for ValuesVisitor {
    type Value = Vec<f64>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of numbers")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Vec<f64>, A::Error> {
        // No capacity from the file's own claim: a list grows with what it holds.
        let mut values = Vec::new();
        while let Some(v) = seq.next_element::<Value>()? {
            values.push(v.0);
        }
        Ok(values)
    }
}

/// One value of `data`.
struct Value(f64);

impl<'de> serde::Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Value, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl Visitor<'_> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(r#"a number, "NaN", "-NaN", "Infinity", "-Infinity" or "NaN:0x" and 16 hex digits"#)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> std::result::Result<Value, E> {
        Ok(Value(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> std::result::Result<Value, E> {
        Ok(Value(v as f64))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> std::result::Result<Value, E> {
        Ok(Value(v as f64))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> std::result::Result<Value, E> {
        from_json_text(text)
            .map(Value)
            .ok_or_else(|| E::invalid_value(de::Unexpected::Str(text), &self))
    }
}

/// The entries of a JSON file by path. A path given twice is an error:
/// either value could be the one meant, and keeping one would hide that.
struct JsonEntries(HashMap<String, Entry>);

impl<'de> serde::Deserialize<'de> for JsonEntries {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<JsonEntries, D::Error> {
        deserializer.deserialize_map(EntriesVisitor)
    }
}

struct EntriesVisitor;

impl<'de> Visitor<'de> for EntriesVisitor {
    type Value = JsonEntries;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(r#"an object of entries, {"path": {"shape": [..], "data": [..]}, ..}"#)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<JsonEntries, A::Error> {
        let mut entries = HashMap::new();
        while let Some(path) = map.next_key::<String>()? {
            let entry = map.next_value::<Entry>()?;
            if entries.contains_key(&path) {
                return Err(de::Error::custom(given_twice(&path)));
            }
            entries.insert(path, entry);
        }
        Ok(JsonEntries(entries))
    }
}

fn given_twice(path: &str) -> String {
    format!("entry {} is given twice", quoted(path))
}

/// The first tensor name a safetensors header (already validated by the
/// safetensors crate, which keeps the last of equal names) gives twice.
fn repeated_name(file: &[u8]) -> Option<String> {
    let len = usize::try_from(u64::from_le_bytes(file.get(..8)?.try_into().ok()?)).ok()?;
    let header = std::str::from_utf8(file.get(8..8usize.checked_add(len)?)?).ok()?;
    serde_json::from_str::<RepeatedName>(header).ok()?.0
}

/// The first key of a JSON object that occurs twice, if any.
struct RepeatedName(Option<String>);

impl<'de> serde::Deserialize<'de> for RepeatedName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<RepeatedName, D::Error> {
        deserializer.deserialize_map(RepeatedNameVisitor)
    }
}

struct RepeatedNameVisitor;

impl<'de> Visitor<'de> for RepeatedNameVisitor {
    type Value = RepeatedName;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a safetensors header")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<RepeatedName, A::Error> {
        let (mut seen, mut repeated) = (HashSet::new(), None);
        // To the end: the parser checks that the object is closed.
        while let Some(name) = map.next_key::<String>()? {
            map.next_value::<IgnoredAny>()?;
            if !seen.insert(name.clone()) {
                repeated.get_or_insert(name);
            }
        }
        Ok(RepeatedName(repeated))
    }
}

fn entries<T: Tree>(tree: &T) -> BTreeMap<String, (Shape, Vec<f64>)> {
    let mut out = BTreeMap::new();
    tree.visit(&mut Path::root(), &mut |p, t| {
        out.insert(p.to_string(), (t.shape().clone(), t.to_vec()));
    });
    out
}

/// A tree shaped like `template` from saved entries, reporting every missing,
/// unexpected and misshapen entry by path.
fn rebuild_like<T: Tree>(template: &T, mut saved: HashMap<String, (Shape, Vec<f64>)>) -> Result<T> {
    let (mut missing, mut misshapen) = (Vec::new(), Vec::new());
    let mut leaves = Vec::new();
    template.visit(
        &mut Path::root(),
        &mut |p, t| match saved.remove(&p.to_string()) {
            None => missing.push(p.to_string()),
            Some((shape, _)) if &shape != t.shape() => {
                misshapen.push(format!("{p} (expected {}, got {shape})", t.shape()));
            }
            // The shape is the template's, so its size cannot overflow.
            Some((shape, data)) if data.len() != shape.numel() => misshapen.push(format!(
                "{p} (shape {shape} holds {} values, the file gives {})",
                shape.numel(),
                data.len()
            )),
            Some((shape, data)) => leaves.push(Tensor::from_parts(data, shape)),
        },
    );
    let mut unexpected: Vec<String> = saved.into_keys().collect();
    unexpected.sort();
    if !(missing.is_empty() && misshapen.is_empty() && unexpected.is_empty()) {
        return Err(Error::Load {
            missing,
            unexpected,
            misshapen,
        });
    }
    Ok(template.with_leaves(leaves))
}

/// The tree as JSON: `{"path": {"shape": [..], "data": [..]}, ...}`.
pub fn to_json<T: Tree>(tree: &T) -> String {
    let map: BTreeMap<String, Entry> = entries(tree)
        .into_iter()
        .map(|(p, (s, data))| {
            (
                p,
                Entry {
                    shape: s.to_vec(),
                    data,
                },
            )
        })
        .collect();
    serde_json::to_string_pretty(&map).expect("plain numbers and strings serialise")
}

/// A tree shaped like `template` from [`to_json`]'s output.
pub fn from_json_like<T: Tree>(template: &T, json: &str) -> Result<T> {
    let map: JsonEntries = serde_json::from_str(json).map_err(|e| format_error("JSON", e))?;
    let saved = map
        .0
        .into_iter()
        .map(|(p, e)| (p, (Shape::from(e.shape), e.data)))
        .collect();
    rebuild_like(template, saved)
}

/// The tree in the safetensors format, as `F64` tensors named by path.
pub fn to_safetensors<T: Tree>(tree: &T) -> Vec<u8> {
    let owned: Vec<(String, Shape, Vec<u8>)> = entries(tree)
        .into_iter()
        .map(|(p, (s, data))| (p, s, data.iter().flat_map(|v| v.to_le_bytes()).collect()))
        .collect();
    let views = owned.iter().map(|(p, s, bytes)| {
        let view = TensorView::new(safetensors::Dtype::F64, s.to_vec(), bytes).expect("sizes match");
        (p.as_str(), view)
    });
    safetensors::serialize(views, None).expect("paths are unique")
}

/// A tree shaped like `template` from safetensors bytes.
pub fn from_safetensors_like<T: Tree>(template: &T, bytes: &[u8]) -> Result<T> {
    let file = safetensors::SafeTensors::deserialize(bytes).map_err(|e| format_error("safetensors", e))?;
    if let Some(name) = repeated_name(bytes) {
        return Err(format_error("safetensors", given_twice(&name)));
    }
    let mut saved = HashMap::new();
    for (name, view) in file.tensors() {
        if view.dtype() != safetensors::Dtype::F64 {
            return Err(Error::Format {
                format: "safetensors",
                message: format!("{} has dtype {:?}, expected F64", quoted(&name), view.dtype()),
            });
        }
        let data = view
            .data()
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().expect("chunks of 8")))
            .collect();
        saved.insert(name, (Shape::from(view.shape()), data));
    }
    rebuild_like(template, saved)
}

/// A parser's complaint about a file, which may quote the file: escaped.
fn format_error(format: &'static str, e: impl fmt::Display) -> Error {
    Error::Format {
        format,
        message: printable(&e.to_string()),
    }
}

fn io_error(path: &std::path::Path, e: std::io::Error) -> Error {
    Error::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// Saves a tree to `path`: JSON for `.json`, safetensors for `.safetensors`.
pub fn save<T: Tree>(tree: &T, path: impl AsRef<std::path::Path>) -> Result<()> {
    let path = path.as_ref();
    let bytes = match extension(path)? {
        Ext::Json => to_json(tree).into_bytes(),
        Ext::SafeTensors => to_safetensors(tree),
    };
    std::fs::write(path, bytes).map_err(|e| io_error(path, e))
}

/// Loads a tree shaped like `template` from a file written by [`save`].
pub fn load_like<T: Tree>(template: &T, path: impl AsRef<std::path::Path>) -> Result<T> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| io_error(path, e))?;
    match extension(path)? {
        Ext::Json => from_json_like(
            template,
            std::str::from_utf8(&bytes).map_err(|e| format_error("JSON", e))?,
        ),
        Ext::SafeTensors => from_safetensors_like(template, &bytes),
    }
}

enum Ext {
    Json,
    SafeTensors,
}

fn extension(path: &std::path::Path) -> Result<Ext> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("json") => Ok(Ext::Json),
        Some("safetensors") => Ok(Ext::SafeTensors),
        _ => Err(Error::InvalidArgument {
            op: "save/load",
            message: format!("`{}`: use a `.json` or `.safetensors` file name", path.display()),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> (Tensor, Vec<Tensor>) {
        (
            Tensor::from([1.5, -2.0]),
            vec![Tensor::scalar(3.25), Tensor::eye(2)],
        )
    }

    #[test]
    fn json_and_safetensors_round_trip_exactly() {
        let t = tree();
        let back = from_json_like(&t, &to_json(&t)).unwrap();
        assert_eq!(back, t);
        let back = from_safetensors_like(&t, &to_safetensors(&t)).unwrap();
        assert_eq!(back, t);
    }

    /// Hand-picked special values, then pseudo-random bit patterns: all of
    /// them, then with the exponent all ones (NaN payloads of either sign)
    /// and all zeros (subnormals).
    fn every_kind_of_bits() -> Vec<u64> {
        let mut bits = vec![
            0,
            1 << 63,
            1,
            (1 << 63) | 1,
            0x000f_ffff_ffff_ffff,
            f64::MIN_POSITIVE.to_bits(),
            f64::MAX.to_bits(),
            f64::MIN.to_bits(),
            f64::EPSILON.to_bits(),
            f64::INFINITY.to_bits(),
            f64::NEG_INFINITY.to_bits(),
            NAN,
            NEGATIVE_NAN,
            0x7ff0_0000_0000_0001,
            0x7fff_ffff_ffff_ffff,
            u64::MAX,
            1.0f64.to_bits(),
            0.1f64.to_bits(),
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..2000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            bits.extend([
                state,
                state | 0x7ff0_0000_0000_0000,
                state & 0x800f_ffff_ffff_ffff,
            ]);
        }
        bits
    }

    #[test]
    fn every_bit_pattern_round_trips_through_both_formats() {
        let bits = every_kind_of_bits();
        let values: Vec<f64> = bits.iter().map(|&b| f64::from_bits(b)).collect();
        let tree = (Tensor::from(values), Tensor::scalar(f64::NAN));
        let of = |t: &(Tensor, Tensor)| -> Vec<u64> {
            t.0.to_vec()
                .iter()
                .chain(&t.1.to_vec())
                .map(|v| v.to_bits())
                .collect()
        };
        let json = from_json_like(&tree, &to_json(&tree)).unwrap();
        assert_eq!(of(&json), of(&tree));
        let safetensors = from_safetensors_like(&tree, &to_safetensors(&tree)).unwrap();
        assert_eq!(of(&safetensors), of(&tree));
    }

    #[test]
    fn json_writes_non_finite_values_as_strings_python_reads() {
        let x = Tensor::from([f64::INFINITY, f64::NEG_INFINITY, f64::NAN, -f64::NAN, -0.0]);
        let json: serde_json::Value = serde_json::from_str(&to_json(&x)).unwrap();
        assert_eq!(
            json["<root>"]["data"],
            serde_json::json!(["Infinity", "-Infinity", "NaN", "-NaN", -0.0])
        );
        let payload = f64::from_bits(0x7ff0_0000_0000_0001);
        assert!(to_json(&Tensor::scalar(payload)).contains(r#""NaN:0x7ff0000000000001""#));
    }

    #[test]
    fn a_value_json_cannot_hold_is_refused_with_what_is_accepted() {
        let template = Tensor::zeros([2]);
        for bad in ["null", r#""nan""#, r#""NaN:0x3ff0000000000000""#, r#""NaN:0x1""#] {
            let json = format!(r#"{{"<root>": {{"shape": [2], "data": [1.0, {bad}]}}}}"#);
            let message = from_json_like(&template, &json).unwrap_err().to_string();
            assert!(
                message.contains(r#"expected a number, "NaN""#),
                "{bad}: {message}"
            );
        }
    }

    #[test]
    fn loading_reports_missing_unexpected_and_misshapen_by_path() {
        let saved = to_json(&(Tensor::zeros([3]), vec![Tensor::scalar(0.0)], Tensor::scalar(1.0)));
        let template = (Tensor::zeros([2]), vec![Tensor::scalar(0.0), Tensor::scalar(0.0)]);
        let err = from_json_like(&template, &saved).unwrap_err();
        assert_eq!(
            err.to_string(),
            "could not load: missing `1.1`; unexpected `2`; misshapen `0 (expected [2], got [3])`"
        );
    }

    #[test]
    fn values_that_do_not_fill_their_shape_are_reported_by_path() {
        let template = (Tensor::zeros([2]), vec![Tensor::zeros([4])]);
        let json = r#"{"0": {"shape": [2], "data": [1, 2]}, "1.0": {"shape": [4], "data": [1, 2]}}"#;
        assert_eq!(
            from_json_like(&template, json).unwrap_err().to_string(),
            "could not load: misshapen `1.0 (shape [4] holds 4 values, the file gives 2)`"
        );
    }

    /// A name that would clear the screen, turn text red and break the line.
    const HOSTILE: &str = "w\u{1b}[2J\u{1b}[31m\n\u{202e}`x`";

    fn assert_printable(message: &str) {
        assert!(
            !message.chars().any(|c| c.is_control() || c == '\u{202e}'),
            "{message:?}"
        );
    }

    #[test]
    fn names_from_files_reach_messages_escaped() {
        let template = Tensor::zeros([1]);
        let key = serde_json::to_string(HOSTILE).unwrap();
        let json =
            format!(r#"{{"<root>": {{"shape": [1], "data": [0]}}, {key}: {{"shape": [1], "data": [0]}}}}"#);
        let message = from_json_like(&template, &json).unwrap_err().to_string();
        assert_eq!(
            message,
            r"could not load: unexpected `w\u{1b}[2J\u{1b}[31m\n\u{202e}\`x\``"
        );
        let bytes = [0u8; 4];
        let view = TensorView::new(safetensors::Dtype::I32, vec![1], &bytes).unwrap();
        let file = safetensors::serialize([(HOSTILE, view)], None).unwrap();
        let message = from_safetensors_like(&template, &file).unwrap_err().to_string();
        assert_printable(&message);
        assert!(message.contains(r"`w\u{1b}[2J"), "{message}");
        let json = format!(r#"{{"<root>": {{"shape": [1], "data": [{key}]}}}}"#);
        let message = from_json_like(&template, &json).unwrap_err().to_string();
        assert_printable(&message);
        assert!(message.contains("[2J"), "{message}");
    }

    #[test]
    fn long_names_and_long_lists_are_cut() {
        let long = "a".repeat(1000);
        let json = format!(r#"{{"{long}": {{"shape": [], "data": [0]}}}}"#);
        let message = from_json_like(&(), &json).unwrap_err().to_string();
        assert!(message.ends_with("` (cut, 1000 bytes in all)"), "{message}");
        assert!(message.len() < 200, "{message}");
        let many: Vec<String> = (0..50)
            .map(|i| format!(r#""n{i}": {{"shape": [], "data": [0]}}"#))
            .collect();
        let message = from_json_like(&(), &format!("{{{}}}", many.join(",")))
            .unwrap_err()
            .to_string();
        assert!(message.ends_with(", and 40 more"), "{message}");
    }

    #[test]
    fn an_entry_given_twice_is_an_error_in_both_formats() {
        let template = (Tensor::zeros([1]),);
        let json = r#"{"0": {"shape": [1], "data": [1]}, "0": {"shape": [1], "data": [2]}}"#;
        let message = from_json_like(&template, json).unwrap_err().to_string();
        assert!(
            message.starts_with("invalid JSON: entry `0` is given twice"),
            "{message}"
        );
        // Two names `0` for the same 8 bytes: the safetensors crate keeps one
        // and finds the file consistent.
        let header = r#"{"0":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},"0":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}"#;
        let mut file = (header.len() as u64).to_le_bytes().to_vec();
        file.extend(header.as_bytes());
        file.extend(1.0f64.to_le_bytes());
        let message = from_safetensors_like(&template, &file).unwrap_err().to_string();
        assert_eq!(message, "invalid safetensors: entry `0` is given twice");
    }

    #[test]
    fn files_by_extension() {
        let dir = std::env::temp_dir().join(format!("jaxpurify-io-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for name in ["p.json", "p.safetensors"] {
            save(&tree(), dir.join(name)).unwrap();
            assert_eq!(load_like(&tree(), dir.join(name)).unwrap(), tree());
        }
        assert!(save(&tree(), dir.join("p.txt")).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
