//! Conversions between tensors and nalgebra's `DVector` and `DMatrix`.

use crate::error::{Error, Result};
use crate::shape::Shape;
use crate::tensor::Tensor;
use nalgebra::{DMatrix, DVector};

impl From<&DVector<f64>> for Tensor {
    /// A 1-d tensor.
    fn from(v: &DVector<f64>) -> Tensor {
        Tensor::from(v.as_slice())
    }
}

impl From<DVector<f64>> for Tensor {
    /// A 1-d tensor.
    fn from(v: DVector<f64>) -> Tensor {
        Tensor::from(&v)
    }
}

impl From<&DMatrix<f64>> for Tensor {
    /// A 2-d tensor (nalgebra stores columns first; the tensor stores rows).
    ///
    /// ```
    /// use jaxpurify_runtime::Tensor;
    /// let m = nalgebra::DMatrix::from_row_slice(2, 2, &[1.0, 2.0, 3.0, 4.0]);
    /// assert_eq!(Tensor::from(&m).to_vec(), vec![1.0, 2.0, 3.0, 4.0]);
    /// ```
    fn from(m: &DMatrix<f64>) -> Tensor {
        let data = m.transpose().as_slice().to_vec();
        Tensor::from_parts(data, Shape::from([m.nrows(), m.ncols()]))
    }
}

impl From<DMatrix<f64>> for Tensor {
    fn from(m: DMatrix<f64>) -> Tensor {
        Tensor::from(&m)
    }
}

impl Tensor {
    /// The values of a 1-d tensor as a `DVector`.
    ///
    /// ```
    /// use jaxpurify_runtime::Tensor;
    /// let v = Tensor::from([1.0, 2.0]).to_dvector()?;
    /// assert_eq!(v[1], 2.0);
    /// # Ok::<(), jaxpurify_runtime::Error>(())
    /// ```
    pub fn to_dvector(&self) -> Result<DVector<f64>> {
        if self.ndim() != 1 {
            return Err(Error::InvalidArgument {
                op: "to_dvector",
                message: format!("expected a 1-d tensor, got shape {}", self.shape()),
            });
        }
        Ok(DVector::from_column_slice(self.as_slice()))
    }

    /// The values of a 2-d tensor as a `DMatrix`.
    ///
    /// ```
    /// use jaxpurify_runtime::Tensor;
    /// let m = Tensor::from([[1.0, 2.0], [3.0, 4.0]]).to_dmatrix()?;
    /// assert_eq!(m[(0, 1)], 2.0);
    /// # Ok::<(), jaxpurify_runtime::Error>(())
    /// ```
    pub fn to_dmatrix(&self) -> Result<DMatrix<f64>> {
        if self.ndim() != 2 {
            return Err(Error::InvalidArgument {
                op: "to_dmatrix",
                message: format!("expected a 2-d tensor, got shape {}", self.shape()),
            });
        }
        Ok(DMatrix::from_row_slice(
            self.shape()[0],
            self.shape()[1],
            self.as_slice(),
        ))
    }
}
