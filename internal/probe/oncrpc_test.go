package probe

import (
	"context"
	"errors"
	"reflect"
	"testing"
)

func TestOncrpcDialerListsExports(t *testing.T) {
	s := startFakeServer(t, burrowReplies("/home/vagrant/project"))
	res, err := Probe(context.Background(), OncrpcDialer, "127.0.0.1", s.port())
	if err != nil {
		t.Fatal(err)
	}
	if want := []Export{{Dir: "/home/vagrant/project"}}; !reflect.DeepEqual(res.Exports, want) {
		t.Errorf("Exports = %+v, want %+v", res.Exports, want)
	}
}

func TestOncrpcDialerMapsProgUnavail(t *testing.T) {
	s := startFakeServer(t, func(prog, vers, proc uint32) fakeReply { return fakeReply{acceptStat: acceptNoProg} })
	_, err := Probe(context.Background(), OncrpcDialer, "127.0.0.1", s.port())
	if !errors.Is(err, ErrProgramUnavailable) {
		t.Errorf("err = %v, want ErrProgramUnavailable", err)
	}
}

func TestOncrpcDialerMapsAuthError(t *testing.T) {
	base := burrowReplies("/srv")
	s := startFakeServer(t, func(prog, vers, proc uint32) fakeReply {
		if prog == ProgMount {
			return fakeReply{denyAuth: true}
		}
		return base(prog, vers, proc)
	})
	_, err := Probe(context.Background(), OncrpcDialer, "127.0.0.1", s.port())
	if !errors.Is(err, ErrAuthRejected) {
		t.Errorf("err = %v, want ErrAuthRejected", err)
	}
}
