//! Procedural macros of `jaxpurify`; use them through the `jaxpurify` crate.
//!
//! The `#[purify]` pipeline, one file per stage: `attr` parses the
//! function, `marker` parses each marker's arguments, `collect` finds and
//! rewrites the markers, `valid` checks names across them, `expand`
//! writes the function and its module, and `fallback` keeps the user's code
//! compiling beside the errors when something is wrong.

mod attr;
mod collect;
mod expand;
mod fallback;
mod marker;
mod tree;
mod valid;

use proc_macro::TokenStream;

/// Turns a function with inline markers into a pure, typed model. See the
/// `jaxpurify` crate's documentation of `purify`.
#[proc_macro_attribute]
pub fn purify(args: TokenStream, input: TokenStream) -> TokenStream {
    expand::purify(args.into(), input.into()).into()
}

/// Implements `Tree` and `TreeBuild` for a struct whose fields are trees.
#[proc_macro_derive(Tree)]
pub fn derive_tree(input: TokenStream) -> TokenStream {
    tree::derive(input.into()).into()
}
