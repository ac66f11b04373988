package compose

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParsePort(t *testing.T) {
	for in, want := range map[string]Port{
		"3000":                                {Target: "3000"},
		"3000:3000":                           {Published: "3000", Target: "3000"},
		"127.0.0.1:3000:3000":                 {HostIP: "127.0.0.1", Published: "3000", Target: "3000"},
		"0.0.0.0:5432:5432/tcp":               {HostIP: "0.0.0.0", Published: "5432", Target: "5432", Protocol: "tcp"},
		"[::1]:4000:4000":                     {HostIP: "::1", Published: "4000", Target: "4000"},
		"::1:4000:4000":                       {HostIP: "::1", Published: "4000", Target: "4000"},
		"8000-8001:3000":                      {Published: "8000-8001", Target: "3000"},
		"${WEB_PORT:-3000}:3000":              {Published: "${WEB_PORT:-3000}", Target: "3000"},
		"${BIND:-127.0.0.1}:${PORT}:3000/udp": {HostIP: "${BIND:-127.0.0.1}", Published: "${PORT}", Target: "3000", Protocol: "udp"},
	} {
		got, err := ParsePort(in)
		if err != nil {
			t.Errorf("%q: %v", in, err)
			continue
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%q (-want +got):\n%s", in, diff)
		}
		if in != "0.0.0.0:5432:5432/tcp" && in != "::1:4000:4000" && got.String() != in {
			t.Errorf("%q prints back as %q", in, got.String())
		}
	}
	for _, bad := range []string{"a:b:c:d:", "[::1:3000:3000", "3000:"} {
		if _, err := ParsePort(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestSetAndRemovePort(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		edit     func(d *Document) error
		want     string
	}{
		{"short, quoting kept", "services:\n  web:\n    ports:\n      - '3000:3000'\n",
			func(d *Document) error {
				return d.SetPort("web", Port{Index: 0, HostIP: "127.0.0.1", Published: "3000", Target: "3000"})
			},
			"services:\n  web:\n    ports:\n      - '127.0.0.1:3000:3000'\n"},
		{"short plain gets quoted", "services:\n  web:\n    ports:\n      - 3000:3000 # public!\n",
			func(d *Document) error {
				return d.SetPort("web", Port{Index: 0, HostIP: "127.0.0.1", Published: "3000", Target: "3000"})
			},
			"services:\n  web:\n    ports:\n      - \"127.0.0.1:3000:3000\" # public!\n"},
		{"long syntax gets host_ip", "services:\n  web:\n    ports:\n      - target: 3000\n        published: \"3000\"\n",
			func(d *Document) error {
				return d.SetPort("web", Port{Index: 0, Long: true, HostIP: "127.0.0.1", Published: "3000", Target: "3000"})
			},
			"services:\n  web:\n    ports:\n      - target: 3000\n        published: \"3000\"\n        host_ip: \"127.0.0.1\"\n"},
		{"remove one of two", "services:\n  db:\n    ports:\n      - '5432:5432'\n      - target: 9187\n        published: 9187\n    image: p\n",
			func(d *Document) error { return d.RemovePort("db", 1) },
			"services:\n  db:\n    ports:\n      - '5432:5432'\n    image: p\n"},
		{"remove the only one drops the key", "services:\n  db:\n    image: p\n    ports:\n      - '5432:5432'\n    restart: always\n",
			func(d *Document) error { return d.RemovePort("db", 0) },
			"services:\n  db:\n    image: p\n    restart: always\n"},
		{"flow list", "services:\n  db:\n    ports: ['5432:5432', \"9187:9187\"]\n",
			func(d *Document) error { return d.RemovePort("db", 0) },
			"services:\n  db:\n    ports: [\"9187:9187\"]\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := parse(t, tc.in)
			if err := tc.edit(d); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, string(d.Bytes())); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestServicesReadsPortsAndReplicas(t *testing.T) {
	d := parse(t, "services:\n  web:\n    scale: 2\n    ports: ['3000:3000', {target: 4000, published: 4000, host_ip: 127.0.0.1}]\n  b:\n    deploy:\n      replicas: 3\n")
	ss, err := d.Services()
	if err != nil {
		t.Fatal(err)
	}
	want := []Port{{Index: 0, Published: "3000", Target: "3000"}, {Index: 1, Long: true, HostIP: "127.0.0.1", Published: "4000", Target: "4000"}}
	if diff := cmp.Diff(want, ss[0].Ports); diff != "" || ss[0].Replicas != 2 || ss[1].Replicas != 3 {
		t.Errorf("ports (-want +got):\n%s replicas %d %d", diff, ss[0].Replicas, ss[1].Replicas)
	}
}

func TestEditPortsBatch(t *testing.T) {
	in := "services:\n  db:\n    ports:\n      - '5432:5432'\n      - \"9187:9187\"\n      - 6000:6000\n      - target: 7000\n        published: 7000\n    image: p\n  web:\n    ports:\n      - '3000:3000'\n"
	d := parse(t, in)
	if err := d.EditPorts("db", nil, []int{0, 2, 3}); err != nil {
		t.Fatal(err)
	}
	want := "services:\n  db:\n    ports:\n      - \"9187:9187\"\n    image: p\n  web:\n    ports:\n      - '3000:3000'\n"
	if got := string(d.Bytes()); got != want {
		t.Errorf("remove: got\n%s", got)
	}
	// Two edits to one entry in a run: the last wins.
	d = parse(t, in)
	if err := d.EditPorts("web", []Port{{Index: 0, HostIP: "127.0.0.1", Published: "3001", Target: "3000"}, {Index: 0, HostIP: "127.0.0.1", Published: "3000", Target: "3000"}}, nil); err != nil {
		t.Fatal(err)
	}
	if got := string(d.Bytes()); !strings.Contains(got, "- '127.0.0.1:3000:3000'") {
		t.Errorf("last edit did not win:\n%s", got)
	}
}
