package machine

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"8GB", 8 * gib}, {"8G", 8 * gib}, {"8g", 8 * gib}, {"7.5GiB", 7*gib + 512*mib},
		{"8192MB", 8 * gib}, {"512M", 512 * mib}, {"1TB", 1024 * gib}, {" 2 GB ", 2 * gib},
	} {
		got, err := ParseSize(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "8", "eight GB", "8XB", "-1GB", "0GB", "8 GBs"} {
		if _, err := ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q) accepted a bad size", bad)
		}
	}
}

func TestParseDroplet(t *testing.T) {
	for _, tc := range []struct {
		slug string
		cpus int
		mem  int64
	}{
		{"s-1vcpu-1gb", 1, 1 * gib},
		{"s-1vcpu-512mb-10gb", 1, 512 * mib},
		{"s-2vcpu-4gb", 2, 4 * gib},
		{"s-4vcpu-8gb", 4, 8 * gib},
		{"s-4vcpu-8gb-intel", 4, 8 * gib},
		{"s-8vcpu-16gb-amd", 8, 16 * gib},
		{"g-2vcpu-8gb", 2, 8 * gib},
		{"gd-16vcpu-64gb", 16, 64 * gib},
		{"c-4", 4, 8 * gib},
		{"c2-8vcpu-16gb", 8, 16 * gib},
		{"m-2vcpu-16gb", 2, 16 * gib},
		{"so1_5-4vcpu-32gb", 4, 32 * gib},
		{"S-4VCPU-8GB", 4, 8 * gib},
	} {
		cpus, mem, err := ParseDroplet(tc.slug)
		if err != nil || cpus != tc.cpus || mem != tc.mem {
			t.Errorf("ParseDroplet(%q) = %d, %d, %v; want %d, %d", tc.slug, cpus, mem, err, tc.cpus, tc.mem)
		}
	}
	for _, bad := range []string{"", "s-4vcpu", "t2.micro", "s-0vcpu-1gb", "x-4vcpu-8gb", "c-0"} {
		_, _, err := ParseDroplet(bad)
		if err == nil {
			t.Errorf("ParseDroplet(%q) accepted a bad slug", bad)
		} else if !strings.Contains(err.Error(), "s-4vcpu-8gb") {
			t.Errorf("ParseDroplet(%q) error does not list the accepted forms: %v", bad, err)
		}
	}
}

func TestAdvertised(t *testing.T) {
	for _, tc := range []struct {
		total, want int64
	}{
		{1004 * 1000 * kib, 1 * gib},   // a 1 GB droplet
		{2005 * 1000 * kib, 2 * gib},   // 2 GB
		{8148 * 1000 * kib, 8 * gib},   // 8 GB: never planned as 7 GB
		{16390 * 1000 * kib, 16 * gib}, // 16 GB
		{63477 * mib, 64 * gib},        // 64 GB
		{8 * gib, 8 * gib},             // exact stays exact
		{6 * gib, 6 * gib},
		{3 * gib / 2 * 2 / 2, 3 * gib / 2}, // 1.5 GB is a real size
		{5000 * mib, 5120 * mib},           // within 8%: rounds to the step
	} {
		if got := advertised(tc.total); got != tc.want {
			t.Errorf("advertised(%d MB) = %d MB; want %d MB", tc.total/mib, got/mib, tc.want/mib)
		}
	}
}

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, content := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestDetect(t *testing.T) {
	meminfo8 := "MemTotal:        8148000 kB\nMemFree:         1000000 kB\n"
	for _, tc := range []struct {
		name   string
		files  map[string]string
		numCPU int
		mem    int64
		cpus   int
	}{
		{"bare droplet", map[string]string{"proc/meminfo": meminfo8}, 4, 8 * gib, 4},
		{"cgroup v2 unlimited", map[string]string{"proc/meminfo": meminfo8, "sys/fs/cgroup/memory.max": "max\n", "sys/fs/cgroup/cpu.max": "max 100000\n"}, 4, 8 * gib, 4},
		{"cgroup v2 limits", map[string]string{"proc/meminfo": meminfo8, "sys/fs/cgroup/memory.max": "4294967296\n", "sys/fs/cgroup/cpu.max": "150000 100000\n"}, 4, 4 * gib, 2},
		{"cgroup v1 unlimited", map[string]string{"proc/meminfo": meminfo8, "sys/fs/cgroup/memory/memory.limit_in_bytes": "9223372036854771712\n", "sys/fs/cgroup/cpu/cpu.cfs_quota_us": "-1\n", "sys/fs/cgroup/cpu/cpu.cfs_period_us": "100000\n"}, 4, 8 * gib, 4},
		{"cgroup v1 limits", map[string]string{"proc/meminfo": meminfo8, "sys/fs/cgroup/memory/memory.limit_in_bytes": "2147483648\n", "sys/fs/cgroup/cpu/cpu.cfs_quota_us": "100000\n", "sys/fs/cgroup/cpu/cpu.cfs_period_us": "100000\n"}, 4, 2 * gib, 1},
		{"limit above the machine is no limit", map[string]string{"proc/meminfo": meminfo8, "sys/fs/cgroup/memory.max": "68719476736\n"}, 2, 8 * gib, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Detect(writeFiles(t, tc.files), tc.numCPU)
			if err != nil {
				t.Fatal(err)
			}
			if m.MemoryBytes != tc.mem || m.CPUs != tc.cpus {
				t.Errorf("Detect = %d MB, %d CPUs; want %d MB, %d CPUs (notes %v)", m.MemoryBytes/mib, m.CPUs, tc.mem/mib, tc.cpus, m.Notes)
			}
		})
	}
	if _, err := Detect(t.TempDir(), 2); err == nil || !strings.Contains(err.Error(), "--memory") {
		t.Errorf("Detect without /proc/meminfo: want an error naming --memory, got %v", err)
	}
}
