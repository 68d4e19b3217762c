//! Hot loops compiled a second time for AVX2 and chosen at run time.
//!
//! The workspace builds for the generic x86-64 target (see
//! `docs/decisions.md`), where a loop that vectorises handles two `f64` per
//! instruction. On a CPU with AVX2 the same loop compiled for it handles
//! four. [`dispatch_avx2!`] defines a function that runs its generic body
//! compiled both ways, picking the AVX2 copy when the CPU has it. The two
//! copies compute the same operations in the same order (no fused
//! multiply-adds, which would round differently), so results do not depend
//! on the machine; `tests` below checks that bit for bit.
//!
//! This is the crate's only `unsafe`: calling a function compiled for a
//! feature is undefined on a CPU without it, so each call is preceded by the
//! run-time check of that feature.

/// Defines `fn $name(args) -> ret` running `$body` (a function marked
/// `#[inline(always)]`, so that it is compiled into each copy), in a copy
/// compiled for AVX2 on CPUs that have it.
macro_rules! dispatch_avx2 {
    ($(#[$doc:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? => $body:path) => {
        $(#[$doc])*
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2")]
                fn avx2($($arg: $ty),*) $(-> $ret)? {
                    $body($($arg),*)
                }
                if std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: `avx2` needs AVX2, which the CPU was just found
                    // to have.
                    #[allow(unsafe_code)]
                    return unsafe { avx2($($arg),*) };
                }
            }
            $body($($arg),*)
        }
    };
}
pub(crate) use dispatch_avx2;
