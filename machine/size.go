// Package machine finds out how big the machine is: from flags (a size, a
// DigitalOcean droplet slug) or by measuring the one it runs on.
package machine

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

const (
	kib int64 = 1024
	mib       = 1024 * kib
	gib       = 1024 * mib
)

var sizeRE = regexp.MustCompile(`^(\d+(?:\.\d+)?)\s*([kKmMgGtT])(?:i?[bB])?$`)

// ParseSize reads a memory size: 8GB, 8G, 7.5GiB, 8192MB, 512M. GB and GiB
// both mean 2^30 bytes: that is what a droplet's "8 GB" is, and what
// /proc/meminfo and docker count in.
func ParseSize(s string) (int64, error) {
	m := sizeRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, fmt.Errorf("%q is not a memory size: write it with a unit, like 8GB, 7.5GiB or 8192MB", s)
	}
	n, _ := strconv.ParseFloat(m[1], 64)
	unit := map[string]int64{"k": kib, "m": mib, "g": gib, "t": 1024 * gib}[strings.ToLower(m[2])]
	b := int64(math.Round(n * float64(unit)))
	if b <= 0 {
		return 0, fmt.Errorf("%q is not a memory size: it must be more than zero", s)
	}
	return b, nil
}

var (
	dropletRE = regexp.MustCompile(`^(s|g|gd|c|c2|m|m3|so|so1_5)-(\d+)vcpu-(\d+)(gb|mb)(?:-[a-z0-9-]+)?$`)
	// CPU-optimized droplets are also sold as c-N: N vCPUs, 2 GB each.
	dropletCRE = regexp.MustCompile(`^(c|c2)-(\d+)(?:-[a-z0-9-]+)?$`)
)

// DropletForms lists what ParseDroplet accepts, for error messages.
const DropletForms = "s-1vcpu-1gb, s-2vcpu-4gb, s-4vcpu-8gb, s-1vcpu-512mb-10gb, g-2vcpu-8gb, gd-4vcpu-16gb, c-4 or c-4vcpu-8gb, m-2vcpu-16gb, so-2vcpu-16gb (suffixes such as -intel or -amd are ignored)"

// ParseDroplet reads a DigitalOcean size slug into CPUs and memory.
func ParseDroplet(slug string) (cpus int, memory int64, err error) {
	s := strings.ToLower(strings.TrimSpace(slug))
	if m := dropletRE.FindStringSubmatch(s); m != nil {
		cpus, _ = strconv.Atoi(m[2])
		n, _ := strconv.ParseInt(m[3], 10, 64)
		unit := gib
		if m[4] == "mb" {
			unit = mib
		}
		if cpus > 0 && n > 0 {
			return cpus, n * unit, nil
		}
	}
	if m := dropletCRE.FindStringSubmatch(s); m != nil {
		cpus, _ = strconv.Atoi(m[2])
		if cpus > 0 {
			return cpus, int64(cpus) * 2 * gib, nil
		}
	}
	return 0, 0, fmt.Errorf("unknown droplet size %q: use a DigitalOcean size slug such as %s", slug, DropletForms)
}
