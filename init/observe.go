package pid1

import (
	"context"
	"io"

	"github.com/vigil-init/vigil/cgroup"
	"github.com/vigil-init/vigil/observe"
	"github.com/vigil-init/vigil/services"
)

// startEndpoint serves the HTTP endpoint on opts.HTTP (VIGIL_HTTP, -H)
// over e's published snapshots; e must have been made with
// Config.Publish set (publishing). Without an address nothing of it
// runs. It serves until vigil exits; a Unix socket left behind then is
// replaced by the next start.
func (p *initProc) startEndpoint(e *services.Engine) error {
	if p.opts.HTTP == "" {
		return nil
	}
	opts := observe.Options{Version: Version, Orphans: p.rp.Orphans, ErrorLog: io.Discard}
	if p.opts.Verbosity >= 3 {
		opts.ErrorLog = p.stderr
	}
	if c, err := cgroup.Self(); err == nil {
		if _, err := c.OOMKills(); err == nil {
			opts.OOMKills = func() uint64 { n, _ := c.OOMKills(); return n }
		}
	}
	srv, err := observe.Serve(context.Background(), p.opts.HTTP, e, opts)
	if err != nil {
		return err
	}
	p.infof("http endpoint on %s", srv.Addr())
	return nil
}

// publishing is whether the engine must publish snapshots: the
// endpoint reads them.
func (p *initProc) publishing() bool { return p.opts.HTTP != "" }
