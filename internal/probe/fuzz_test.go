package probe

import (
	"reflect"
	"testing"
)

// FuzzDecodeExports decodes arbitrary EXPORT replies, which come from the
// network, and checks that every accepted list encodes back to the same
// list.
func FuzzDecodeExports(f *testing.F) {
	f.Add(EncodeExports(nil))
	f.Add(EncodeExports([]Export{{Dir: "/home/vagrant/project"}}))
	f.Add(EncodeExports([]Export{{Dir: "/", Groups: []string{"192.168.56.0/24", "host"}}, {Dir: "/srv"}}))
	f.Add([]byte{0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, in []byte) {
		exports, err := DecodeExports(in)
		if err != nil {
			return
		}
		again, err := DecodeExports(EncodeExports(exports))
		if err != nil {
			t.Fatalf("re-encoded list does not decode: %v", err)
		}
		if len(exports) == 0 && len(again) == 0 {
			return
		}
		if !reflect.DeepEqual(exports, again) {
			t.Fatalf("round trip changed the list: %#v became %#v", exports, again)
		}
	})
}
