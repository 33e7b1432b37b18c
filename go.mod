module github.com/vigil-init/vigil

go 1.26.8

require golang.org/x/sys v0.50.0

require github.com/opencontainers/runtime-spec v1.3.0
