//! Generating and verifying codes must not allocate: a counting global allocator proves it.
#![allow(unsafe_code)] // A `GlobalAlloc` impl is unsafe by definition; it only counts and forwards.
#![allow(clippy::unwrap_used)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use mfa_otp::{Algorithm, Code, Hotp, HotpParams, Secret, Totp, TotpParams, Window};

struct Counting;

thread_local! {
    // Per thread: the test harness's own threads allocate while a test runs (its timers, its
    // output), which a process-wide count picked up now and then.
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards every call unchanged to the system allocator.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_during(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

#[test]
fn keying_generating_and_verifying_allocate_nothing() {
    // Counts this thread's allocations only.
    let mut sink = 0u64;
    let n = allocations_during(|| {
        for algorithm in [Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha512] {
            let secret = Secret::from_base32("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ").unwrap();
            let totp = Totp::new(
                &secret,
                TotpParams {
                    algorithm,
                    ..TotpParams::default()
                },
            )
            .unwrap();
            let code = totp.generate(1_700_000_000).unwrap();
            let typed = Code::parse("123 456").unwrap();
            sink += totp.verify(&code, 1_700_000_000, Window::default()).unwrap();
            sink += totp
                .verify(&typed, 1_700_000_000, Window::symmetric(5))
                .unwrap_or(0);
            sink += totp
                .verify_after(&code, 1_700_000_000, Window::default(), Some(1))
                .unwrap();
            let hotp = Hotp::new(&secret, HotpParams { algorithm, digits: 8 }).unwrap();
            let c = hotp.generate(7);
            sink += hotp.verify(&c, 0, 10).unwrap();
            sink += hotp
                .resync(&hotp.generate(40), &hotp.generate(41), 0, 100)
                .unwrap();
            let mut buf = [0u8; 64];
            sink += secret.encode_base32_into(&mut buf).unwrap().len() as u64;
        }
    });
    assert!(sink > 0);
    assert_eq!(n, 0, "the OTP paths allocated {n} times");
}
