//! Misbehaves after $DELAY_MS (default 100): CRASH=exit (code $EXIT_CODE, default 1),
//! `panic`, `recurse` (stack overflow) or `trap` (unreachable).
use std::time::Duration;

#[inline(never)]
#[allow(
    unconditional_recursion,
    reason = "overflowing the stack is this mode's purpose"
)]
fn recurse(n: u64) -> u64 {
    // Scalars only, so the frames live on the Wasm stack (not Rust's shadow stack in linear
    // memory), and not a tail call, so LLVM cannot turn it into a loop.
    recurse(n.wrapping_add(1)).wrapping_mul(3).wrapping_add(n)
}

fn main() {
    let delay: u64 = std::env::var("DELAY_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let mode = std::env::var("CRASH").unwrap_or_else(|_| "exit".into());
    println!("crasher: will {mode} in {delay} ms");
    std::thread::sleep(Duration::from_millis(delay));
    match mode.as_str() {
        "panic" => panic!("crasher panics on purpose"),
        "recurse" => println!("{}", recurse(std::hint::black_box(1))),
        "trap" => core::arch::wasm32::unreachable(),
        _ => {
            let code = std::env::var("EXIT_CODE")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(1);
            eprintln!("crasher exits with {code}");
            // std's `process::exit` on wasip2 maps every non-zero code to 1 (wasi:cli/exit
            // `exit(err)`); WASI 0.2.12's `exit-with-code` carries the code itself.
            match u8::try_from(code) {
                Ok(code) if code != 0 => wasip2::cli::exit::exit_with_code(code),
                _ => std::process::exit(code),
            }
        }
    }
}
