package container

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/docker/go-units"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
)

// created is what a container is created with: the API's three configs
// plus the network it joins and its aliases there.
type created struct {
	cfg     *container.Config
	host    *container.HostConfig
	network string // "" means the job's network
	aliases []string
}

// optionFlags are the `options:` flags shipgate understands (docker create's
// spelling). Each takes a value unless listed in boolFlags.
var optionFlags = map[string]string{
	"--health-cmd": "", "--health-interval": "", "--health-timeout": "", "--health-retries": "",
	"--health-start-period": "", "--health-start-interval": "", "--no-healthcheck": "",
	"--cpus": "", "--cpu-shares": "", "-c": "--cpu-shares", "--cpuset-cpus": "",
	"--memory": "", "-m": "--memory", "--memory-swap": "", "--memory-reservation": "",
	"--pids-limit": "", "--shm-size": "", "--ulimit": "",
	"--network": "", "--net": "--network", "--network-alias": "", "--net-alias": "--network-alias",
	"--hostname": "", "-h": "--hostname", "--add-host": "", "--dns": "",
	"--user": "", "-u": "--user", "--workdir": "", "-w": "--workdir",
	"--env": "", "-e": "--env", "--label": "", "-l": "--label", "--entrypoint": "",
	"--privileged": "", "--cap-add": "", "--cap-drop": "", "--security-opt": "",
	"--init": "", "--read-only": "", "--tmpfs": "", "--volume": "", "-v": "--volume",
	"--publish": "", "-p": "--publish", "--rm": "",
}

var boolFlags = []string{"--no-healthcheck", "--privileged", "--init", "--read-only", "--rm"}

// SupportedOptions lists the `options:` flags shipgate understands, sorted.
func SupportedOptions() []string {
	var out []string
	for k, v := range optionFlags {
		if v == "" {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// applyOptions parses an `options:` string into c. Unknown flags and bad
// values are errors naming the flag.
func applyOptions(opts string, c *created) error {
	args, err := splitArgs(opts)
	if err != nil {
		return err
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			return fmt.Errorf("options: unexpected %q (only flags are allowed; the image and command are not set here)", a)
		}
		name, val, hasVal := strings.Cut(a, "=")
		canon, ok := optionFlags[name]
		if !ok {
			return fmt.Errorf("options: %s is not supported (supported: %s)", name, strings.Join(SupportedOptions(), ", "))
		}
		if canon == "" {
			canon = name
		}
		if slices.Contains(boolFlags, canon) {
			on := true
			if hasVal {
				if on, err = strconv.ParseBool(val); err != nil {
					return fmt.Errorf("options: %s=%q: want true or false", name, val)
				}
			}
			if err := applyBool(canon, on, c); err != nil {
				return err
			}
			continue
		}
		if !hasVal {
			if i+1 >= len(args) {
				return fmt.Errorf("options: %s needs a value", name)
			}
			i++
			val = args[i]
		}
		if err := applyValue(canon, val, c); err != nil {
			return fmt.Errorf("options: %s %q: %w", name, val, err)
		}
	}
	return nil
}

func applyBool(flag string, on bool, c *created) error {
	switch flag {
	case "--no-healthcheck":
		if on {
			c.cfg.Healthcheck = &container.HealthConfig{Test: []string{"NONE"}}
		}
	case "--privileged":
		c.host.Privileged = on
	case "--init":
		c.host.Init = &on
	case "--read-only":
		c.host.ReadonlyRootfs = on
	case "--rm":
		// Every container is removed after the job anyway.
	}
	return nil
}

func (c *created) health() *container.HealthConfig {
	if c.cfg.Healthcheck == nil {
		c.cfg.Healthcheck = &container.HealthConfig{}
	}
	return c.cfg.Healthcheck
}

func applyValue(flag, val string, c *created) error {
	h, r := c.host, &c.host.Resources
	var err error
	switch flag {
	case "--health-cmd":
		c.health().Test = []string{"CMD-SHELL", val}
	case "--health-interval":
		c.health().Interval, err = positiveDuration(val)
	case "--health-timeout":
		c.health().Timeout, err = positiveDuration(val)
	case "--health-start-period":
		c.health().StartPeriod, err = positiveDuration(val)
	case "--health-start-interval":
		c.health().StartInterval, err = positiveDuration(val)
	case "--health-retries":
		c.health().Retries, err = strconv.Atoi(val)
		if err == nil && c.health().Retries < 1 {
			err = fmt.Errorf("want a positive count")
		}
	case "--cpus":
		var f float64
		f, err = strconv.ParseFloat(val, 64)
		if err == nil && f <= 0 {
			err = fmt.Errorf("want a positive number of CPUs")
		}
		r.NanoCPUs = int64(f * 1e9)
	case "--cpu-shares":
		r.CPUShares, err = strconv.ParseInt(val, 10, 64)
	case "--cpuset-cpus":
		r.CpusetCpus = val
	case "--memory":
		r.Memory, err = units.RAMInBytes(val)
	case "--memory-swap":
		if val == "-1" {
			r.MemorySwap = -1
		} else {
			r.MemorySwap, err = units.RAMInBytes(val)
		}
	case "--memory-reservation":
		r.MemoryReservation, err = units.RAMInBytes(val)
	case "--pids-limit":
		var n int64
		n, err = strconv.ParseInt(val, 10, 64)
		r.PidsLimit = &n
	case "--shm-size":
		h.ShmSize, err = units.RAMInBytes(val)
	case "--ulimit":
		var u *units.Ulimit
		if u, err = units.ParseUlimit(val); err == nil {
			r.Ulimits = append(r.Ulimits, u)
		}
	case "--network":
		c.network = val
	case "--network-alias":
		c.aliases = append(c.aliases, val)
	case "--hostname":
		c.cfg.Hostname = val
	case "--add-host":
		h.ExtraHosts = append(h.ExtraHosts, val)
	case "--dns":
		var a netip.Addr
		if a, err = netip.ParseAddr(val); err == nil {
			h.DNS = append(h.DNS, a)
		}
	case "--user":
		c.cfg.User = val
	case "--workdir":
		c.cfg.WorkingDir = val
	case "--env":
		if !strings.Contains(val, "=") {
			err = fmt.Errorf("want NAME=VALUE")
		}
		c.cfg.Env = append(c.cfg.Env, val)
	case "--label":
		k, v, _ := strings.Cut(val, "=")
		if strings.HasPrefix(k, labelPrefix) {
			err = fmt.Errorf("the %s labels are shipgate's own", labelPrefix)
		}
		c.cfg.Labels[k] = v
	case "--entrypoint":
		c.cfg.Entrypoint = []string{val}
	case "--cap-add":
		h.CapAdd = append(h.CapAdd, val)
	case "--cap-drop":
		h.CapDrop = append(h.CapDrop, val)
	case "--security-opt":
		h.SecurityOpt = append(h.SecurityOpt, val)
	case "--tmpfs":
		if h.Tmpfs == nil {
			h.Tmpfs = map[string]string{}
		}
		path, o, _ := strings.Cut(val, ":")
		h.Tmpfs[path] = o
	case "--volume":
		err = addVolume(val, c)
	case "--publish":
		err = addPort(val, c)
	}
	return err
}

func positiveDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err == nil && d <= 0 {
		err = fmt.Errorf("want a positive duration such as 10s")
	}
	return d, err
}

// addVolume adds one `volumes:` entry: "/host:/ctr[:ro]" and
// "name:/ctr[:ro]" are binds, "/ctr" an anonymous volume.
func addVolume(v string, c *created) error {
	parts := strings.Split(v, ":")
	switch {
	case len(parts) == 1:
		if !strings.HasPrefix(v, "/") {
			return fmt.Errorf("volume %q: want an absolute container path, /host:/container or name:/container", v)
		}
		if c.cfg.Volumes == nil {
			c.cfg.Volumes = map[string]struct{}{}
		}
		c.cfg.Volumes[v] = struct{}{}
	case len(parts) <= 3 && parts[0] != "" && strings.HasPrefix(parts[1], "/"):
		c.host.Binds = append(c.host.Binds, v)
	default:
		return fmt.Errorf("volume %q: want /host:/container[:ro], name:/container or /container", v)
	}
	return nil
}

// addPort adds one `ports:` entry: "80" publishes container port 80 on a
// free host port, "8080:80" on host port 8080, "127.0.0.1:8080:80/udp" on
// one address.
func addPort(p string, c *created) error {
	spec, proto, _ := strings.Cut(p, "/")
	fields := strings.Split(spec, ":")
	var ip, hostPort, ctrPort string
	switch len(fields) {
	case 1:
		ctrPort = fields[0]
	case 2:
		hostPort, ctrPort = fields[0], fields[1]
	case 3:
		ip, hostPort, ctrPort = fields[0], fields[1], fields[2]
	default:
		return fmt.Errorf("port %q: want [[ip:]hostPort:]containerPort[/proto]", p)
	}
	if proto != "" {
		ctrPort += "/" + proto
	}
	port, err := network.ParsePort(ctrPort)
	if err != nil {
		return fmt.Errorf("port %q: %v", p, err)
	}
	if hostPort != "" {
		if n, err := strconv.Atoi(hostPort); err != nil || n < 0 || n > 65535 {
			return fmt.Errorf("port %q: bad host port %q", p, hostPort)
		}
	}
	b := network.PortBinding{HostPort: hostPort}
	if ip != "" {
		a, err := netip.ParseAddr(ip)
		if err != nil {
			return fmt.Errorf("port %q: bad address %q", p, ip)
		}
		b.HostIP = a
	}
	if c.cfg.ExposedPorts == nil {
		c.cfg.ExposedPorts = network.PortSet{}
		c.host.PortBindings = network.PortMap{}
	}
	c.cfg.ExposedPorts[port] = struct{}{}
	c.host.PortBindings[port] = append(c.host.PortBindings[port], b)
	return nil
}

// splitArgs splits an options string as a POSIX shell splits words:
// whitespace separates, quotes group, a backslash escapes.
func splitArgs(s string) ([]string, error) {
	var args []string
	var cur strings.Builder
	word := false
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("options: unterminated ' quote")
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			word = true
		case ch == '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\') {
					i++
				}
				cur.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, fmt.Errorf("options: unterminated \" quote")
			}
			word = true
		case ch == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
			word = true
		case ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r':
			if word {
				args = append(args, cur.String())
				cur.Reset()
				word = false
			}
		default:
			cur.WriteByte(ch)
			word = true
		}
	}
	if word {
		args = append(args, cur.String())
	}
	return args, nil
}
