//! CPU and memory as metrics-server writes them: CPU as a decimal quantity in nanocores
//! (`resource.NewScaledQuantity(n, Nano)`), memory as a binary quantity
//! (`resource.NewQuantity(bytes, BinarySI)`, whose canonical form uses the largest suffix
//! that divides it exactly), and the window as a Go duration string.

/// `"12345n"`, or `"0"`.
pub fn cpu_quantity(nano_cores: u64) -> String {
    if nano_cores == 0 {
        return "0".into();
    }
    format!("{nano_cores}n")
}

/// `"2048Ki"`, `"4Mi"`, or plain bytes when no binary suffix divides them.
pub fn memory_quantity(bytes: u64) -> String {
    const SUFFIXES: [&str; 6] = ["Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];
    if bytes == 0 {
        return "0".into();
    }
    let mut value = bytes;
    let mut suffix = "";
    for next in SUFFIXES {
        if !value.is_multiple_of(1024) {
            break;
        }
        value /= 1024;
        suffix = next;
    }
    format!("{value}{suffix}")
}

/// Seconds as Go's `time.ParseDuration` reads them: `"10.002s"`, `"5s"`, `"0s"`.
pub fn go_duration(seconds: f64) -> String {
    if !seconds.is_finite() || seconds <= 0.0 {
        return "0s".into();
    }
    let text = format!("{seconds:.3}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text}s")
}
