//! Printing tensors the way NumPy prints arrays.

use crate::tensor::Tensor;
use std::fmt;

/// Formats one value as NumPy does for floats: `1.` for whole numbers,
/// shortest round-trip digits otherwise.
fn format_value(v: f64, precision: Option<usize>) -> String {
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if let Some(p) = precision {
        return format!("{v:.p$}");
    }
    if v == v.trunc() && v.abs() < 1e16 {
        format!("{v:.0}.")
    } else if v != 0.0 && (v.abs() < 1e-4 || v.abs() >= 1e16) {
        format!("{v:e}")
    } else {
        format!("{v}")
    }
}

fn write_nested(f: &mut fmt::Formatter<'_>, t: &Tensor, cells: &[String], width: usize) -> fmt::Result {
    fn rec(
        f: &mut fmt::Formatter<'_>,
        dims: &[usize],
        cells: &[String],
        width: usize,
        depth: usize,
        indent: usize,
    ) -> fmt::Result {
        write!(f, "[")?;
        if dims.len() == 1 {
            for (i, c) in cells.iter().enumerate() {
                if i > 0 {
                    write!(f, ", ")?;
                }
                write!(f, "{c:>width$}")?;
            }
        } else {
            let chunk = cells.len() / dims[0].max(1);
            for i in 0..dims[0] {
                if i > 0 {
                    write!(f, ",")?;
                    for _ in 1..dims.len() {
                        writeln!(f)?;
                    }
                    write!(f, "{:indent$}", "", indent = indent + depth + 1)?;
                }
                rec(
                    f,
                    &dims[1..],
                    &cells[i * chunk..(i + 1) * chunk],
                    width,
                    depth + 1,
                    indent,
                )?;
            }
        }
        write!(f, "]")
    }
    if t.ndim() == 0 {
        return write!(f, "{}", cells[0]);
    }
    rec(f, t.shape(), cells, width, 0, 0)
}

impl fmt::Display for Tensor {
    /// Nested brackets like NumPy's `str`; `{:.3}` fixes the digits.
    ///
    /// ```
    /// use jaxpurify_runtime::Tensor;
    /// let t = Tensor::from([[1.0, 2.5], [3.0, 4.0]]);
    /// assert_eq!(t.to_string(), "[[1. , 2.5],\n [3. , 4. ]]");
    /// assert_eq!(format!("{:.1}", Tensor::from([1.0, 2.0])), "[1.0, 2.0]");
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut cells: Vec<String> = self
            .data()
            .iter()
            .map(|&v| format_value(v, f.precision()))
            .collect();
        if f.precision().is_none() && cells.iter().any(|c| !c.ends_with('.') && c.contains('.')) {
            // Align decimal points as NumPy does: pad whole numbers on the right.
            let frac = cells
                .iter()
                .filter_map(|c| c.split_once('.').map(|(_, r)| r.len()))
                .max()
                .unwrap_or(0);
            for c in &mut cells {
                if let Some((_, r)) = c.split_once('.') {
                    let pad = frac - r.len();
                    c.push_str(&" ".repeat(pad));
                }
            }
        }
        let width = cells.iter().map(String::len).max().unwrap_or(0);
        write_nested(f, self, &cells, width)
    }
}

impl fmt::Debug for Tensor {
    /// Like NumPy's `repr`: `tensor([1., 2.])`, with the shape when it is
    /// not evident and a note when the tensor carries a recorded graph.
    /// `{:.3?}` fixes the digits, also for tensors inside a derived `Debug`
    /// (printing a whole parameter struct).
    ///
    /// ```
    /// use jaxpurify_runtime::Tensor;
    /// assert_eq!(format!("{:?}", Tensor::from([1.0, 2.0])), "tensor([1., 2.])");
    /// assert_eq!(format!("{:.2?}", Tensor::from([1.0, 2.0 / 3.0])), "tensor([1.00, 0.67])");
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let body = match f.precision() {
            Some(digits) => format!("{self:.digits$}"),
            None => self.to_string(),
        };
        let body = body.replace('\n', "\n       ");
        write!(f, "tensor({body}")?;
        if self.is_empty() {
            write!(f, ", shape={}", self.shape())?;
        }
        if self.is_tracked() {
            write!(f, ", tracked")?;
        }
        write!(f, ")")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_like_numpy() {
        assert_eq!(Tensor::scalar(3.0).to_string(), "3.");
        assert_eq!(Tensor::from([0.5, -1.0]).to_string(), "[ 0.5, -1. ]");
        assert_eq!(
            Tensor::zeros([2, 1, 2]).to_string(),
            "[[[0., 0.]],\n\n [[0., 0.]]]"
        );
        assert_eq!(Tensor::from([f64::INFINITY, f64::NAN]).to_string(), "[inf, nan]");
        assert_eq!(format!("{:?}", Tensor::zeros([0])), "tensor([], shape=[0])");
    }

    #[test]
    fn debug_keeps_the_requested_digits_inside_structs() {
        #[derive(Debug)]
        #[allow(dead_code)] // read only through Debug
        struct Params {
            w: Tensor,
        }
        let p = Params {
            w: Tensor::from([[1.0 / 3.0, -2.0], [0.5, 4.0]]),
        };
        assert_eq!(
            format!("{p:.2?}"),
            "Params { w: tensor([[ 0.33, -2.00],\n        [ 0.50,  4.00]]) }"
        );
    }
}
