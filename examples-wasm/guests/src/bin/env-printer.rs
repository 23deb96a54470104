//! Prints args, the environment and the file $CONFIG_FILE (default /config/app.conf), then exits 0.
fn main() {
    let args: Vec<String> = std::env::args().collect();
    println!("args: {}", args.join(" "));
    let mut vars: Vec<(String, String)> = std::env::vars().collect();
    vars.sort();
    for (k, v) in vars {
        println!("env {k}={v}");
    }
    let path = std::env::var("CONFIG_FILE").unwrap_or_else(|_| "/config/app.conf".into());
    match std::fs::read_to_string(&path) {
        Ok(text) => println!("config {path}: {}", text.trim_end()),
        Err(e) => {
            eprintln!("cannot read {path}: {e}");
            std::process::exit(3);
        }
    }
    if let Ok(out) = std::env::var("WRITE_FILE") {
        if let Err(e) = std::fs::write(&out, "written by env-printer\n") {
            eprintln!("cannot write {out}: {e}");
            std::process::exit(4);
        }
        println!("wrote {out}");
    }
}
