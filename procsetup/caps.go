package procsetup

import (
	"strconv"

	"golang.org/x/sys/unix"
)

// capNames are the kernel's capability numbers, as OCI spells them.
var capNames = [...]string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
	"CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP",
	"CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
	"CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
	"CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
	"CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD",
	"CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
	"CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
}

func capByName(name string) (int, bool) {
	for i, n := range capNames {
		if n == name {
			return i, true
		}
	}
	return 0, false
}

func capName(c int) string {
	if c < len(capNames) {
		return capNames[c]
	}
	return "capability " + strconv.Itoa(c)
}

// capState is this thread's capability sets.
type capState struct {
	effective, permitted, inheritable, bounding uint64
}

func readCaps() (capState, error) {
	var st capState
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return st, err
	}
	st.effective = uint64(data[0].Effective) | uint64(data[1].Effective)<<32
	st.permitted = uint64(data[0].Permitted) | uint64(data[1].Permitted)<<32
	st.inheritable = uint64(data[0].Inheritable) | uint64(data[1].Inheritable)<<32
	for c := 0; c < 64; c++ {
		in, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(c), 0, 0, 0)
		if err != nil {
			break // past the kernel's last capability
		}
		if in == 1 {
			st.bounding |= 1 << c
		}
	}
	return st, nil
}

// checkCaps says which requested capability this thread cannot give the
// program, naming the field.
func (s *Spec) checkCaps(st capState) error {
	c := s.Capabilities
	sets := []struct {
		field string
		want  uint64
		have  uint64
		what  string
	}{
		{"capabilities.bounding", c.Bounding, st.bounding, "not in vigil's bounding set"},
		{"capabilities.permitted", c.Permitted, st.permitted, "not in vigil's permitted set"},
		{"capabilities.effective", c.Effective, st.permitted, "not in vigil's permitted set"},
		{"capabilities.inheritable", c.Inheritable, st.permitted | st.inheritable, "not in vigil's permitted set"},
		{"capabilities.ambient", c.Ambient, st.permitted, "not in vigil's permitted set"},
		{"capabilities.effective", c.Effective, c.Permitted, "not also in capabilities.permitted"},
		{"capabilities.ambient", c.Ambient, c.Permitted & c.Inheritable, "not also in capabilities.permitted and capabilities.inheritable"},
	}
	for _, set := range sets {
		if miss := set.want &^ set.have; miss != 0 {
			return s.fail(set.field, "the process may not have "+capName(lowestBit(miss))+": "+set.what, nil)
		}
	}
	return nil
}

func lowestBit(v uint64) int {
	for i := 0; i < 64; i++ {
		if v&(1<<i) != 0 {
			return i
		}
	}
	return -1
}

// dropBounding removes from this thread's bounding set every capability
// the program is not to have; it needs CAP_SETPCAP, so it runs before the
// user change.
func (s *Spec) dropBounding(st capState) error {
	for c := 0; c < 64; c++ {
		if st.bounding&(1<<c) != 0 && s.Capabilities.Bounding&(1<<c) == 0 {
			if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil {
				return s.fail("capabilities.bounding", "unable to drop "+capName(c), err)
			}
		}
	}
	return nil
}

// setCaps sets this thread's effective, permitted and inheritable sets and
// raises the ambient ones, after the user change.
func (s *Spec) setCaps() error {
	c := s.Capabilities
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	data := [2]unix.CapUserData{
		{Effective: uint32(c.Effective), Permitted: uint32(c.Permitted), Inheritable: uint32(c.Inheritable)},
		{Effective: uint32(c.Effective >> 32), Permitted: uint32(c.Permitted >> 32), Inheritable: uint32(c.Inheritable >> 32)},
	}
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return s.fail("capabilities", "unable to set capabilities", err)
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil && c.Ambient != 0 {
		return s.fail("capabilities.ambient", "unable to clear the ambient set", err)
	}
	for i := 0; i < 64; i++ {
		if c.Ambient&(1<<i) != 0 {
			if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_RAISE, uintptr(i), 0, 0); err != nil {
				return s.fail("capabilities.ambient", "unable to raise "+capName(i), err)
			}
		}
	}
	return nil
}

func itoaInt(v int) string { return strconv.Itoa(v) }

func utoaU(v uint64) string { return strconv.FormatUint(v, 10) }

// CapabilityName is the OCI name of capability number c ("CAP_CHOWN").
func CapabilityName(c int) string { return capName(c) }
