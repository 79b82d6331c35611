// A YoMo wasm stream function in Go with the standard toolchain (GOOS=wasip1), written
// against the ABI YoMo v1.19's serverless/guest package implements for TinyGo: the same
// env imports and exports, declared with //go:wasmimport and //go:wasmexport.
//
// Tags: 0x33 "text" answers "TEXT" on 0x34; 0x35 "user,payload" answers "payload" on
// 0x36 to the target "user"; 0x37 "many:N" answers N times on 0x38, "http:URL" answers the
// body of a GET of URL on 0x39 (or "http error CODE").
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"unsafe"
)

//go:wasmimport env yomo_observe_datatag
func observeDataTag(tag uint32)

//go:wasmimport env yomo_get_wanted_target
func getWantedTarget(ptr unsafe.Pointer, size uint32)

//go:wasmimport env yomo_context_tag
func contextTag() uint32

//go:wasmimport env yomo_context_data
func contextData(ptr unsafe.Pointer, size uint32) uint32

//go:wasmimport env yomo_write
func write(tag uint32, ptr unsafe.Pointer, size uint32) uint32

//go:wasmimport env yomo_write_with_target
func writeWithTarget(tag uint32, ptr unsafe.Pointer, size uint32, target unsafe.Pointer, targetSize uint32) uint32

//go:wasmimport env yomo_http_send
func httpSend(req unsafe.Pointer, reqSize uint32, resp unsafe.Pointer, respSize unsafe.Pointer) uint32

// The buffer data is first read into, as YoMo's guest package does: a frame that does not
// fit makes yomo_context_data answer its length, and a buffer of that size is read next.
var readBuffer = make([]byte, 2048)

// What yomo_alloc handed out last, kept reachable until the guest has read it.
var allocated []byte

func main() {}

//go:wasmexport yomo_observe_datatags
func observeDataTags() {
	for _, tag := range []uint32{0x33, 0x35, 0x37} {
		observeDataTag(tag)
	}
}

//go:wasmexport yomo_wanted_target
func wantedTarget() {
	if target := os.Getenv("WANTED_TARGET"); target != "" {
		data := []byte(target)
		getWantedTarget(unsafe.Pointer(&data[0]), uint32(len(data)))
	}
}

//go:wasmexport yomo_init
func initFunction() uint32 {
	if os.Getenv("FAIL_INIT") != "" {
		fmt.Fprintln(os.Stderr, "init: asked to fail")
		return 1
	}
	return 0
}

//go:wasmexport yomo_alloc
func alloc(size uint32) unsafe.Pointer {
	allocated = make([]byte, size+1)
	return unsafe.Pointer(&allocated[0])
}

func frameData() []byte {
	size := contextData(unsafe.Pointer(&readBuffer[0]), uint32(len(readBuffer)))
	if size <= uint32(len(readBuffer)) {
		return append([]byte(nil), readBuffer[:size]...)
	}
	data := make([]byte, size)
	contextData(unsafe.Pointer(&data[0]), size)
	return data
}

func answer(tag uint32, data []byte) {
	if len(data) == 0 {
		data = []byte{0}[:0:1]
	}
	write(tag, unsafe.Pointer(unsafe.SliceData(data)), uint32(len(data)))
}

//go:wasmexport yomo_handler
func handler() {
	tag := contextTag()
	data := frameData()
	switch tag {
	case 0x33:
		answer(0x34, []byte(strings.ToUpper(string(data))))
	case 0x35:
		user, payload, _ := strings.Cut(string(data), ",")
		target, body := []byte(user+" "), []byte(payload+" ")
		writeWithTarget(0x36, unsafe.Pointer(&body[0]), uint32(len(payload)),
			unsafe.Pointer(&target[0]), uint32(len(user)))
	case 0x37:
		text := string(data)
		if count, found := strings.CutPrefix(text, "many:"); found {
			n, _ := strconv.Atoi(count)
			for i := 0; i < n; i++ {
				answer(0x38, []byte(strconv.Itoa(i)))
			}
		} else if url, found := strings.CutPrefix(text, "http:"); found {
			answer(0x39, get(url))
		}
	}
}

// get sends YoMo's serverless.HTTPRequest as JSON and reads the HTTPResponse back.
func get(url string) []byte {
	request, _ := json.Marshal(map[string]any{"Method": "GET", "URL": url, "Timeout": 5000})
	var respPtr, respSize uint32
	code := httpSend(unsafe.Pointer(&request[0]), uint32(len(request)),
		unsafe.Pointer(&respPtr), unsafe.Pointer(&respSize))
	if code != 0 {
		return []byte(fmt.Sprintf("http error %d", code))
	}
	raw := unsafe.Slice((*byte)(unsafe.Pointer(uintptr(respPtr))), respSize)
	var response struct {
		StatusCode int
		Body       []byte
	}
	if err := json.Unmarshal(raw, &response); err != nil {
		return []byte("bad response: " + err.Error())
	}
	return []byte(fmt.Sprintf("%d %s", response.StatusCode, response.Body))
}
