//! Spins forever without yielding to the host; prints a heartbeat every 2^$HEARTBEAT_SHIFT
//! iterations (default 28), so a test can count the work done.
fn main() {
    let shift: u32 = std::env::var("HEARTBEAT_SHIFT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(28)
        .min(40);
    println!("busy-loop started");
    let mut x: u64 = 1;
    let mut i: u64 = 0;
    loop {
        x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
        i = i.wrapping_add(1);
        if i & ((1 << shift) - 1) == 0 {
            println!("busy-loop still spinning ({x:x})");
        }
    }
}
