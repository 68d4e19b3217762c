//! Saving and loading trees of tensors as JSON or safetensors, keyed by
//! leaf path (`field.xi`, `layers.1.w`), so files are readable from Python
//! (`safetensors.numpy.load_file`) and by eye.

use crate::error::{Error, Result};
use crate::shape::Shape;
use crate::tensor::Tensor;
use crate::tree::{Path, Tree};
use safetensors::tensor::TensorView;
use std::collections::{BTreeMap, HashMap};

/// One saved leaf: its shape and row-major values.
#[derive(serde::Serialize, serde::Deserialize)]
struct Entry {
    shape: Vec<usize>,
    data: Vec<f64>,
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
            Some((shape, data)) => leaves.push(Tensor::from_vec(data, shape)),
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
    let leaves: Vec<Tensor> = leaves.into_iter().collect::<Result<_>>()?;
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
    let map: HashMap<String, Entry> = serde_json::from_str(json).map_err(|e| Error::Format {
        format: "JSON",
        message: e.to_string(),
    })?;
    let saved = map
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
    let format_error = |message: String| Error::Format {
        format: "safetensors",
        message,
    };
    let file = safetensors::SafeTensors::deserialize(bytes).map_err(|e| format_error(e.to_string()))?;
    let mut saved = HashMap::new();
    for (name, view) in file.tensors() {
        if view.dtype() != safetensors::Dtype::F64 {
            return Err(format_error(format!(
                "`{name}` has dtype {:?}, expected F64",
                view.dtype()
            )));
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
            std::str::from_utf8(&bytes).map_err(|e| Error::Format {
                format: "JSON",
                message: e.to_string(),
            })?,
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
