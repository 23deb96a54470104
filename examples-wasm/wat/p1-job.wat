;; A wasip1 core module job: writes one line to stdout with fd_write and returns (exit 0).
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  ;; iovec at 0: pointer 16, length 22
  (data (i32.const 0) "\10\00\00\00\16\00\00\00")
  (data (i32.const 16) "hello from wasip1 job\n")
  (func (export "_start")
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
