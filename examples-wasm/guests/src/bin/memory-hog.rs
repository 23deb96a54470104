//! Allocates and touches memory in $CHUNK_MIB (default 4) MiB steps until it is stopped, or,
//! with $MAX_MIB set, until it holds that much; then it sleeps, holding it.
fn main() {
    let chunk: usize = std::env::var("CHUNK_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4);
    let max: Option<usize> = std::env::var("MAX_MIB").ok().and_then(|v| v.parse().ok());
    let mut held: Vec<Vec<u8>> = Vec::new();
    loop {
        if max.is_some_and(|max| held.len() * chunk >= max) {
            println!("memory-hog holding {} MiB", held.len() * chunk);
            loop {
                std::thread::sleep(std::time::Duration::from_secs(3600));
            }
        }
        let mut block = vec![0u8; chunk << 20];
        for page in block.chunks_mut(4096) {
            page[0] = 1;
        }
        held.push(block);
        println!("memory-hog holds {} MiB", held.len() * chunk);
    }
}
