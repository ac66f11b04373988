package machine

import (
	"bufio"
	"fmt"
	"math/bits"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
)

// Measured is what Detect found, and where.
type Measured struct {
	MemoryBytes int64
	CPUs        int
	Notes       []string // how each figure was found
}

// Detect measures the machine below root ("/" for the real one; tests pass
// a directory holding proc/meminfo and sys/fs/cgroup files). numCPU is
// runtime.NumCPU() in production.
func Detect(root string, numCPU int) (Measured, error) {
	var m Measured
	total, err := memTotal(filepath.Join(root, "proc/meminfo"))
	if err != nil {
		return m, fmt.Errorf("cannot measure this machine's memory (%v): pass --memory or --droplet", err)
	}
	m.MemoryBytes = advertised(total)
	if m.MemoryBytes != total {
		m.Notes = append(m.Notes, fmt.Sprintf("MemTotal %d MB, read as the machine's advertised %d MB (the kernel keeps a little for itself)", total/mib, m.MemoryBytes/mib))
	}
	if limit, ok := cgroupMemory(root); ok && limit < m.MemoryBytes {
		m.MemoryBytes = limit
		m.Notes = append(m.Notes, fmt.Sprintf("memory limited by the cgroup to %d MB", limit/mib))
	}
	m.CPUs = numCPU
	if q, ok := cgroupCPUs(root); ok && q < m.CPUs {
		m.CPUs = q
		m.Notes = append(m.Notes, fmt.Sprintf("CPUs limited by the cgroup quota to %d", q))
	}
	if m.CPUs < 1 {
		m.CPUs = 1
	}
	return m, nil
}

// DetectHost measures the machine this process runs on.
func DetectHost() (Measured, error) { return Detect("/", runtime.NumCPU()) }

func memTotal(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("%s: bad MemTotal %q", path, fields[1])
			}
			return kb * kib, nil
		}
	}
	return 0, fmt.Errorf("%s has no MemTotal line", path)
}

// advertised rounds MemTotal up to the size the machine was sold as: an
// "8 GB" droplet reports about 7.8 GB because the kernel reserves memory
// before counting. The step is an eighth of the power of two below, at
// least 256 MB, and a rounding of more than 8% is not made.
func advertised(total int64) int64 {
	if total <= 0 {
		return total
	}
	pow := int64(1) << (63 - bits.LeadingZeros64(uint64(total)))
	step := max(pow/8, 256*mib)
	up := (total + step - 1) / step * step
	if float64(up-total) > 0.08*float64(total) {
		return total
	}
	return up
}

// cgroupMemory reads a memory limit: cgroup v2 memory.max, else v1
// memory.limit_in_bytes. "max" and v1's near-2^63 value mean no limit.
func cgroupMemory(root string) (int64, bool) {
	for _, p := range []string{"sys/fs/cgroup/memory.max", "sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		b, err := os.ReadFile(filepath.Join(root, p))
		if err != nil {
			continue
		}
		s := strings.TrimSpace(string(b))
		if s == "max" {
			return 0, false
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 || n >= 1<<62 {
			return 0, false
		}
		return n, true
	}
	return 0, false
}

// cgroupCPUs reads a CPU quota as whole CPUs, rounded up: cgroup v2 cpu.max
// ("quota period" or "max period"), else v1 cfs_quota_us / cfs_period_us.
func cgroupCPUs(root string) (int, bool) {
	if b, err := os.ReadFile(filepath.Join(root, "sys/fs/cgroup/cpu.max")); err == nil {
		f := strings.Fields(string(b))
		if len(f) == 2 && f[0] != "max" {
			return quota(f[0], f[1])
		}
		return 0, false
	}
	q, err1 := os.ReadFile(filepath.Join(root, "sys/fs/cgroup/cpu/cpu.cfs_quota_us"))
	p, err2 := os.ReadFile(filepath.Join(root, "sys/fs/cgroup/cpu/cpu.cfs_period_us"))
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return quota(strings.TrimSpace(string(q)), strings.TrimSpace(string(p)))
}

func quota(q, p string) (int, bool) {
	qn, err1 := strconv.ParseInt(q, 10, 64)
	pn, err2 := strconv.ParseInt(p, 10, 64)
	if err1 != nil || err2 != nil || qn <= 0 || pn <= 0 {
		return 0, false
	}
	return int((qn + pn - 1) / pn), true
}
