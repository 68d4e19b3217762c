//! Loading parameter files that were damaged or crafted: seeded mutations of
//! valid JSON and safetensors files (truncations, flipped and overwritten
//! bytes, spliced chunks, huge header lengths, wrong dtypes, absurd shapes,
//! duplicated entries, deep nesting, odd values). Every load must return,
//! never panic, and never make one allocation larger than
//! [`allocation_bound`] of the file; it gives either the template's shapes
//! or an error whose message is short and printable.

#[path = "support/counting_alloc.rs"]
mod counting_alloc;

use counting_alloc::largest_allocation;
use jaxpurify::prelude::*;
use jaxpurify::{Shapes, io};
use rand::SeedableRng;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// A dense layer.
#[purify]
fn dense(d_in: usize, d_out: usize, x: &Tensor) -> Tensor {
    let w = param!([d_out, d_in]);
    let b = param!(d_out);
    (&w * &x.reshape([1, d_in])).sum_axes(&[1], false) + &b
}

/// Nested components in a list, a scalar and a variable: paths of every kind.
#[purify]
fn model() -> Tensor {
    let mut h = fixed!(3);
    for i in 0..2 {
        h = sub!(layers[i] = dense(3, 3, &h));
    }
    let scale = param!(());
    let width = log_normal_variable!(mean = 1.0, sigma = 0.5);
    h * scale * width
}

/// The largest single allocation a load of a file of `len` bytes may make:
/// each value takes at least two bytes of JSON (`0,`) and eight in memory,
/// and a growing list may hold twice its length for a moment.
fn allocation_bound(len: usize) -> usize {
    16 * 1024 + 8 * len
}

/// xorshift64*: a fixed, portable stream of pseudo-random numbers.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Text that parsers find hard: huge and negative numbers, non-numbers,
/// control characters, unbalanced and deeply nested brackets.
fn odd_text(rng: &mut Rng) -> String {
    let deep = |open: &str, close: &str, n: usize| open.repeat(n) + &close.repeat(n);
    let choices = [
        "18446744073709551615".to_string(),
        "18446744073709551616".to_string(),
        "4294967296".to_string(),
        "-1".to_string(),
        "1e999".to_string(),
        "-0".to_string(),
        "null".to_string(),
        "\"NaN\"".to_string(),
        "\"NaN:0x7ff0000000000001\"".to_string(),
        "\"\u{1b}[2J\"".to_string(),
        "\"\\u0000\"".to_string(),
        "{".to_string(),
        "]".to_string(),
        deep("[", "]", 200 + rng.below(5000)),
        deep("{\"a\":", "}", 200 + rng.below(5000)),
        "[4294967296, 4294967296, 4294967296]".to_string(),
    ];
    rng.pick(&choices).clone()
}

/// Replaces one token of `text` (a number, a quoted string, a bracket).
fn replace_token(text: &str, rng: &mut Rng) -> String {
    let starts: Vec<usize> = text
        .char_indices()
        .filter(|&(i, c)| {
            let before = text[..i].chars().next_back();
            matches!(c, '0'..='9' | '"' | '[' | '{') && !matches!(before, Some('0'..='9' | '.'))
        })
        .map(|(i, _)| i)
        .collect();
    if starts.is_empty() {
        return text.to_string();
    }
    let start = *rng.pick(&starts);
    let end = text[start + 1..]
        .find([',', ']', '}', ':'])
        .map_or(text.len(), |k| start + 1 + k);
    format!("{}{}{}", &text[..start], odd_text(rng), &text[end..])
}

/// Repeats the first entry of a JSON object (`{"a": .., ` -> `{"a": .., "a": .., `).
fn duplicate_first_entry(text: &str) -> String {
    let Some(open) = text.find('{') else {
        return text.to_string();
    };
    let mut depth = 0;
    for (i, c) in text[open..].char_indices() {
        match c {
            '{' | '[' => depth += 1,
            '}' | ']' => depth -= 1,
            ',' if depth == 1 => {
                let entry = &text[open + 1..open + i];
                return format!("{{{entry},{entry},{}", &text[open + i + 1..]);
            }
            _ => {}
        }
    }
    text.to_string()
}

/// One byte-level mutation of `bytes`.
fn mutate_bytes(bytes: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut out = bytes.to_vec();
    match rng.below(4) {
        0 => out.truncate(rng.below(bytes.len())),
        1 => {
            for _ in 0..1 + rng.below(8) {
                let i = rng.below(out.len());
                out[i] ^= 1 << rng.below(8);
            }
        }
        2 => {
            for _ in 0..1 + rng.below(8) {
                let i = rng.below(out.len());
                out[i] = rng.next() as u8;
            }
        }
        _ => {
            let (from, len) = (rng.below(out.len()), rng.below(64));
            let chunk: Vec<u8> = out[from..(from + len).min(out.len())].to_vec();
            let at = rng.below(out.len());
            out.splice(at..at, chunk);
        }
    }
    out
}

/// A safetensors file from a header and the data bytes after it.
fn safetensors_file(header: &str, data: &[u8]) -> Vec<u8> {
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend(header.as_bytes());
    out.extend(data);
    out
}

/// The header (as text) and the data of a valid safetensors file.
fn split_safetensors(file: &[u8]) -> (String, Vec<u8>) {
    let len = u64::from_le_bytes(file[..8].try_into().unwrap()) as usize;
    let header = String::from_utf8(file[8..8 + len].to_vec()).unwrap();
    (header, file[8 + len..].to_vec())
}

/// A mutation of a safetensors file: of its bytes, of its header's text, or
/// of its declared header length.
fn mutate_safetensors(file: &[u8], rng: &mut Rng) -> Vec<u8> {
    let (header, data) = split_safetensors(file);
    match rng.below(6) {
        0 | 1 => mutate_bytes(file, rng),
        2 => safetensors_file(&replace_token(&header, rng), &data),
        3 => {
            let dtype = rng.pick(&["F32", "F16", "BF16", "I64", "U8", "BOOL", "F8_E4M3", "C64", "XX"]);
            safetensors_file(&header.replacen("F64", dtype, 1 + rng.below(3)), &data)
        }
        4 => safetensors_file(&duplicate_first_entry(&header), &data),
        _ => {
            let lengths = [
                u64::MAX,
                1 << 40,
                100_000_000,
                100_000_001,
                file.len() as u64,
                0,
                7,
            ];
            let mut out = file.to_vec();
            out[..8].copy_from_slice(&rng.pick(&lengths).to_le_bytes());
            out
        }
    }
}

/// A mutation of a JSON file: of its bytes or of its text.
fn mutate_json(file: &str, rng: &mut Rng) -> Vec<u8> {
    match rng.below(4) {
        0 => mutate_bytes(file.as_bytes(), rng),
        1 | 2 => replace_token(file, rng).into_bytes(),
        _ => duplicate_first_entry(file).into_bytes(),
    }
}

/// Loads `bytes` into the template and checks the outcome; `what` says
/// which mutation it was, for the failure message.
fn check_load(template: &model::Params, bytes: &[u8], json: bool, what: &str) -> bool {
    let load = || {
        match json {
            // As `load_like` does for a `.json` file.
            true => match std::str::from_utf8(bytes) {
                Ok(text) => io::from_json_like(template, text),
                Err(_) => return None,
            },
            false => io::from_safetensors_like(template, bytes),
        }
        .into()
    };
    let (outcome, largest) = largest_allocation(|| catch_unwind(AssertUnwindSafe(load)));
    let Ok(outcome) = outcome else {
        panic!("{what}: loading panicked");
    };
    assert!(
        largest <= allocation_bound(bytes.len()),
        "{what}: one allocation of {largest} bytes for a file of {}",
        bytes.len()
    );
    match outcome {
        None => false,
        Some(Ok(loaded)) => {
            assert_eq!(Shapes::of(&loaded), Shapes::of(template), "{what}");
            true
        }
        Some(Err(e)) => {
            let message = e.to_string();
            let readable = !message.is_empty()
                && message.len() <= 1000
                && !message.chars().any(|c| c.is_control() || c == '\u{202e}');
            assert!(readable, "{what}: unreadable message {message:?}");
            false
        }
    }
}

const MUTATIONS_PER_FORMAT: usize = 1500;

#[test]
fn damaged_and_crafted_files_load_or_fail_cleanly_within_bounds() {
    let mut draw = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(5);
    let template = model::normal(&mut draw).unwrap();
    let mut valid = template.clone();
    valid.layers[1].b = Tensor::from([f64::NAN, f64::INFINITY, -0.0]);
    let (json, safetensors) = (io::to_json(&valid), io::to_safetensors(&valid));
    assert!(check_load(
        &template,
        json.as_bytes(),
        true,
        "the JSON file itself"
    ));
    assert!(check_load(
        &template,
        &safetensors,
        false,
        "the safetensors file itself"
    ));
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let mut loaded = 0;
    for case in 0..MUTATIONS_PER_FORMAT {
        let file = mutate_json(&json, &mut rng);
        loaded += check_load(&template, &file, true, &format!("JSON mutation {case}")) as usize;
        let file = mutate_safetensors(&safetensors, &mut rng);
        loaded += check_load(&template, &file, false, &format!("safetensors mutation {case}")) as usize;
    }
    // Some mutations leave a valid file (a flipped bit in a value); most must not.
    assert!(
        loaded < MUTATIONS_PER_FORMAT,
        "{loaded} of the mutated files loaded"
    );
}

#[test]
fn an_entry_given_twice_is_refused_in_both_formats() {
    let template = model::zeros().unwrap();
    let json = duplicate_first_entry(&io::to_json(&template));
    let message = io::from_json_like(&template, &json).unwrap_err().to_string();
    assert!(message.contains("entry `layers.0.b` is given twice"), "{message}");
    let (header, data) = split_safetensors(&io::to_safetensors(&template));
    let file = safetensors_file(&duplicate_first_entry(&header), &data);
    let message = io::from_safetensors_like(&template, &file)
        .unwrap_err()
        .to_string();
    assert!(message.contains("is given twice"), "{message}");
}
