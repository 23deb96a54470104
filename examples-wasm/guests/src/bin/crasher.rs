//! Misbehaves after $DELAY_MS (default 100): CRASH=exit (code $EXIT_CODE, default 1),
//! `panic`, `recurse` (stack overflow) or `trap` (unreachable).
use std::time::Duration;

#[inline(never)]
#[allow(unconditional_recursion, reason = "overflowing the stack is this mode's purpose")]
fn recurse(depth: u64, pad: &mut [u8; 256]) -> u64 {
    pad[(depth % 256) as usize] = depth as u8;
    let mut next = [0u8; 256];
    next.copy_from_slice(pad);
    1 + recurse(std::hint::black_box(depth + 1), std::hint::black_box(&mut next))
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
        "recurse" => println!("{}", recurse(0, &mut [0u8; 256])),
        "trap" => core::arch::wasm32::unreachable(),
        _ => {
            let code = std::env::var("EXIT_CODE")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(1);
            eprintln!("crasher exits with {code}");
            std::process::exit(code);
        }
    }
}
