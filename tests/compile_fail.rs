//! Every misuse of `#[purify]` and its markers fails to compile with a
//! message that says what is wrong and points at the user's tokens. The
//! expected messages are the `.stderr` files beside each case in `ui/`.

#[test]
fn misuses_are_compile_errors() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
