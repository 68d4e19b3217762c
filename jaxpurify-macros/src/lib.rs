//! Procedural macros of `jaxpurify`; use them through the `jaxpurify` crate.
