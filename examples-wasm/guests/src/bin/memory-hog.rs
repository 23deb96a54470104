//! Allocates and touches memory in $CHUNK_MIB (default 4) MiB steps until it is stopped.
fn main() {
    let chunk: usize = std::env::var("CHUNK_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4);
    let mut held: Vec<Vec<u8>> = Vec::new();
    loop {
        let mut block = vec![0u8; chunk << 20];
        for page in block.chunks_mut(4096) {
            page[0] = 1;
        }
        held.push(block);
        println!("memory-hog holds {} MiB", held.len() * chunk);
    }
}
