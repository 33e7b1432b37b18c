package errstr

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"testing"
)

func TestOf(t *testing.T) {
	_, statErr := os.Stat("/nonexistent/file")
	for _, tc := range []struct {
		err  error
		want string
	}{
		{syscall.ENOENT, "file does not exist"},
		{statErr, "file does not exist"},
		{fmt.Errorf("opening: %w", syscall.EACCES), "access denied"},
		{syscall.ENXIO, "device not configured"},
		{syscall.EAGAIN, "temporary failure"},
		{errors.New("bad format"), "bad format"},
	} {
		if got := Of(tc.err); got != tc.want {
			t.Errorf("Of(%v) = %q; want %q", tc.err, got, tc.want)
		}
	}
}

func TestDescribe(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("unable to open supervise/lock: %w", syscall.EACCES), "unable to open supervise/lock: access denied"},
		{errors.New("supervise/control exists but is not a fifo"), "supervise/control exists but is not a fifo"},
	} {
		if got := Describe(tc.err); got != tc.want {
			t.Errorf("Describe(%v) = %q; want %q", tc.err, got, tc.want)
		}
	}
}
