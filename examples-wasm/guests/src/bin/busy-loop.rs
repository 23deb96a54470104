//! Spins forever without yielding to the host; prints a heartbeat every 2^28 iterations.
fn main() {
    println!("busy-loop started");
    let mut x: u64 = 1;
    let mut i: u64 = 0;
    loop {
        x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
        i = i.wrapping_add(1);
        if i & ((1 << 28) - 1) == 0 {
            println!("busy-loop still spinning ({x:x})");
        }
    }
}
