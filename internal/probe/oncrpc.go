package probe

import (
	"context"
	"errors"
	"fmt"

	"github.com/burrow-nfs/burrow/internal/oncrpc"
)

// OncrpcDialer is the Dialer that burrow uses: an internal/oncrpc client
// over TCP that sends AUTH_NONE calls.
func OncrpcDialer(ctx context.Context, addr string) (Caller, error) {
	c, err := oncrpc.Dial(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return oncrpcCaller{c}, nil
}

type oncrpcCaller struct{ c *oncrpc.Client }

func (oc oncrpcCaller) Close() error { return oc.c.Close() }

// Call wraps the client's reply errors in ErrProgramUnavailable or
// ErrAuthRejected so Probe and the doctor can tell them apart.
func (oc oncrpcCaller) Call(ctx context.Context, prog, vers, proc uint32, args []byte) ([]byte, error) {
	res, err := oc.c.Call(ctx, prog, vers, proc, oncrpc.AuthNoneCredential(), args)
	if err == nil {
		return res, nil
	}
	var accepted *oncrpc.AcceptError
	if errors.As(err, &accepted) && (accepted.Stat == oncrpc.ProgUnavail || accepted.Stat == oncrpc.ProgMismatch) {
		return nil, fmt.Errorf("%w: %v", ErrProgramUnavailable, err)
	}
	var rejected *oncrpc.RejectedError
	if errors.As(err, &rejected) && rejected.Stat == oncrpc.AuthError {
		return nil, fmt.Errorf("%w: %v", ErrAuthRejected, err)
	}
	return nil, err
}
