package compose

import (
	"net/url"
	"strings"

	"github.com/compose-spec/compose-go/v2/dotenv"
)

// ReadKeys parses an env_file and keeps the values of keys alone, as
// written there (a URL whole). For comparing what two services get, in
// memory: a caller never writes or prints them.
func ReadKeys(text []byte, keys []string) map[string]string {
	all, err := dotenv.UnmarshalBytesWithLookup(text, func(string) (string, bool) { return "", false })
	out := map[string]string{}
	if err != nil {
		return out
	}
	for _, k := range keys {
		if v, ok := all[k]; ok {
			out[k] = v
		}
	}
	return out
}

// URLUserinfo reports whether scheme://user:pass@host carries a user and a
// password.
func URLUserinfo(u string) (user, password bool) {
	_, rest, ok := strings.Cut(u, "://")
	if !ok {
		return false, false
	}
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		rest = rest[:i]
	}
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return false, false
	}
	name, pass, hasPass := strings.Cut(rest[:at], ":")
	return name != "", hasPass && pass != ""
}

// URLLogin is the user and password of scheme://user:pass@host, decoded
// as redis-rb decodes a Redis URL's (URI.decode_www_form_component:
// %XX, and + is a space) when form is true, else as a URI path is (+
// stays). Unescaped characters a URL parser refuses are taken as they
// are, as Ruby's lenient parsers do.
func URLLogin(u string, form bool) (user, password string) {
	_, rest, ok := strings.Cut(u, "://")
	if !ok {
		return "", ""
	}
	at := loginEnd(rest)
	if at < 0 {
		return "", ""
	}
	name, pass, _ := strings.Cut(rest[:at], ":")
	unescape := url.PathUnescape
	if form {
		unescape = url.QueryUnescape
	}
	decode := func(s string) string {
		if d, err := unescape(s); err == nil {
			return d
		}
		return s
	}
	return decode(name), decode(pass)
}

// WithoutLogin is u without its userinfo, everything else kept: for a
// URL parser to read the host, port, path and query of a URL whose
// password it would stumble on.
func WithoutLogin(u string) string {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return u
	}
	if at := loginEnd(rest); at >= 0 {
		rest = rest[at+1:]
	}
	return scheme + "://" + rest
}

// loginEnd is the index of the @ that ends the userinfo of rest (a URL
// after its "scheme://"), -1 when there is none.
func loginEnd(rest string) int {
	at := strings.LastIndex(rest, "@")
	if i := strings.IndexAny(rest, "/?#"); i >= 0 && i > at {
		at = strings.LastIndex(rest[:i], "@")
	}
	return at
}

// HostOfURL reduces scheme://user:pass@host:port/db to scheme://host:port.
func HostOfURL(u string) string {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return ""
	}
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		rest = rest[at+1:]
	}
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		rest = rest[:i]
	}
	return scheme + "://" + rest
}
