"""Guests of the function host's tests and benches, written as WebAssembly text, so no
toolchain is needed.

``guest(prefix)`` is a wasm-bindgen module (one-argument malloc, two-argument free,
slices as ``(ptr, len)``, results through a return pointer) whose exports are:

- ``echo(&[u8]) -> Vec<u8>``: the prefix, then the input (the prefix names a version);
- ``spin``: an endless loop; ``hog``: grows memory until it cannot, then traps;
- ``crash``: traps at once; ``length(&[u8]) -> u32``: a number, not bytes;
- ``wide(i64)``: a signature no payload fits.

``yomo_guest(prefix, target)`` is a module of YoMo's stream-function ABI observing 0x10,
0x12 and 0x13: on 0x10 it answers twice, the prefix and the frame on 0x11, and the frame
alone on 0x15 for the target ``peer``; on 0x12 it loops for ever; on 0x13 it writes on the
reserved tag 0xF001. With a ``target`` it wants that target.
"""

from __future__ import annotations

from pathlib import Path

_TEMPLATE = """
(module
  (memory (export "memory") 2)
  (data (i32.const 512) "{prefix}")
  (global $top (mut i32) (i32.const 1024))
  (global $live (mut i32) (i32.const 0))

  (func $malloc (export "__wbindgen_malloc") (param $size i32) (result i32)
    (local $ptr i32) (local $end i32) (local $have i32)
    (local.set $ptr (i32.and (i32.add (global.get $top) (i32.const 7)) (i32.const -8)))
    (local.set $end (i32.add (local.get $ptr) (local.get $size)))
    (local.set $have (i32.shl (memory.size) (i32.const 16)))
    (if (i32.gt_u (local.get $end) (local.get $have))
      (then
        (if (i32.eq
              (memory.grow (i32.add (i32.shr_u (i32.sub (local.get $end) (local.get $have))
                                               (i32.const 16))
                                    (i32.const 1)))
              (i32.const -1))
          (then unreachable))))
    (global.set $top (local.get $end))
    (global.set $live (i32.add (global.get $live) (i32.const 1)))
    (local.get $ptr))

  (func $free (export "__wbindgen_free") (param $ptr i32) (param $size i32)
    (global.set $live (i32.sub (global.get $live) (i32.const 1)))
    (if (i32.eqz (global.get $live)) (then (global.set $top (i32.const 1024)))))

  (func (export "echo") (param $retptr i32) (param $ptr i32) (param $len i32)
    (local $out i32)
    (local.set $out (call $malloc (i32.add (local.get $len) (i32.const {length}))))
    (memory.copy (local.get $out) (i32.const 512) (i32.const {length}))
    (memory.copy (i32.add (local.get $out) (i32.const {length})) (local.get $ptr) (local.get $len))
    (call $free (local.get $ptr) (local.get $len))
    (i32.store (local.get $retptr) (local.get $out))
    (i32.store offset=4 (local.get $retptr) (i32.add (local.get $len) (i32.const {length}))))

  (func (export "length") (param $ptr i32) (param $len i32) (result i32)
    (call $free (local.get $ptr) (local.get $len))
    (local.get $len))

  (func (export "spin") (param $retptr i32) (param $ptr i32) (param $len i32)
    (loop $forever (br $forever)))
  (func (export "hog") (param $retptr i32) (param $ptr i32) (param $len i32)
    (loop $more
      (br_if $more (i32.ne (memory.grow (i32.const 1)) (i32.const -1))))
    unreachable)
  (func (export "crash") (param $retptr i32) (param $ptr i32) (param $len i32)
    unreachable)
  (func (export "wide") (param i64))
)
"""

#: A module that imports a host function nobody provides.
UNRESOLVED = """
(module
  (import "acme_gpu" "launch" (func (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "__wbindgen_malloc") (param i32) (result i32) (i32.const 1024))
  (func (export "__wbindgen_free") (param i32 i32))
  (func (export "echo") (param i32 i32 i32))
)
"""

#: Exports a function, but none of wasm-bindgen's allocator.
NOT_BINDGEN = """
(module
  (memory (export "memory") 1)
  (func (export "echo") (param i32 i32 i32))
)
"""


def guest(prefix: str = "") -> str:
    """The text of the test guest whose ``echo`` answers ``prefix`` + input."""
    assert prefix.isascii()
    assert '"' not in prefix
    assert "\\" not in prefix
    return _TEMPLATE.format(prefix=prefix, length=len(prefix))


def write_guest(path: Path, prefix: str = "") -> Path:
    """Writes the guest to ``path`` (a ``.wat`` file) and returns it."""
    path.write_text(guest(prefix))
    return path


_YOMO_TEMPLATE = """
(module
  (import "env" "yomo_observe_datatag" (func $observe (param i32)))
  (import "env" "yomo_get_wanted_target" (func $want (param i32 i32)))
  (import "env" "yomo_context_tag" (func $tag (result i32)))
  (import "env" "yomo_context_data" (func $data (param i32 i32) (result i32)))
  (import "env" "yomo_context_data_size" (func $size (result i32)))
  (import "env" "yomo_write" (func $write (param i32 i32 i32) (result i32)))
  (import "env" "yomo_write_with_target"
    (func $write_to (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (data (i32.const 256) "{prefix}")
  (data (i32.const 512) "{target}")
  (data (i32.const 768) "peer")

  (func (export "yomo_observe_datatags")
    (call $observe (i32.const 0x10))
    (call $observe (i32.const 0x12))
    (call $observe (i32.const 0x13)))
  (func (export "yomo_wanted_target") {want})

  (func (export "yomo_handler")
    (local $tag i32) (local $size i32)
    (local.set $tag (call $tag))
    (local.set $size (call $size))
    (if (i32.eq (local.get $tag) (i32.const 0x10))
      (then
        (memory.copy (i32.const 1024) (i32.const 256) (i32.const {length}))
        (drop (call $data (i32.const {data_at}) (local.get $size)))
        (drop (call $write
          (i32.const 0x11) (i32.const 1024) (i32.add (local.get $size) (i32.const {length}))))
        (drop (call $write_to
          (i32.const 0x15) (i32.const {data_at}) (local.get $size)
          (i32.const 768) (i32.const 4)))))
    (if (i32.eq (local.get $tag) (i32.const 0x12))
      (then (loop $forever (br $forever))))
    (if (i32.eq (local.get $tag) (i32.const 0x13))
      (then (drop (call $write (i32.const 0xF001) (i32.const 768) (i32.const 4))))))
)
"""


def yomo_guest(prefix: str = "", target: str = "") -> str:
    """The text of the YoMo-ABI test guest (see the module's documentation)."""
    for text in (prefix, target):
        assert text.isascii()
        assert '"' not in text
        assert "\\" not in text
    want = f"(call $want (i32.const 512) (i32.const {len(target)}))" if target else ""
    return _YOMO_TEMPLATE.format(
        prefix=prefix, target=target, want=want, length=len(prefix), data_at=1024 + len(prefix)
    )


def write_yomo_guest(path: Path, prefix: str = "", target: str = "") -> Path:
    """Writes the YoMo-ABI guest to ``path`` (a ``.wat`` file) and returns it."""
    path.write_text(yomo_guest(prefix, target))
    return path
