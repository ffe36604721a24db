package inventory

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
)

// yarnRelations reads yarn.lock (v1 and Berry): each entry's descriptors
// ("name@range", comma-separated), its version, integrity and
// dependencies ("dep range" / "dep: range"), resolved through the
// descriptors. Direct dependencies come from package.json beside it.
func yarnRelations(file string, pkgs []Package) {
	data, err := os.ReadFile(file)
	if err != nil {
		return
	}
	type entry struct {
		descs     []string
		version   string
		integrity string
		deps      []string // descriptors
	}
	var entries []*entry
	var cur *entry
	inDeps := false
	unq := func(s string) string { return strings.Trim(strings.TrimSpace(s), `"`) }
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 4<<20)
	for sc.Scan() {
		line := sc.Text()
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		indent := len(line) - len(strings.TrimLeft(line, " "))
		switch {
		case indent == 0 && strings.HasSuffix(t, ":"):
			cur = &entry{}
			for _, d := range strings.Split(strings.TrimSuffix(t, ":"), ",") {
				cur.descs = append(cur.descs, unq(d))
			}
			entries = append(entries, cur)
			inDeps = false
		case cur == nil:
		case indent == 2:
			inDeps = t == "dependencies:" || t == "optionalDependencies:"
			k, v, _ := strings.Cut(t, " ")
			k = strings.TrimSuffix(k, ":")
			switch k {
			case "version":
				cur.version = unq(v)
			case "integrity":
				cur.integrity = unq(v)
			}
		case indent >= 4 && inDeps:
			k, v, ok := strings.Cut(t, " ")
			if !ok {
				continue
			}
			k = unq(strings.TrimSuffix(k, ":"))
			v = unq(v)
			cur.deps = append(cur.deps, k+"@"+v)
		}
	}
	idx := map[string]int{}
	for i := range pkgs {
		idx[pkgs[i].Name+"@"+pkgs[i].Version] = i
	}
	byDesc := map[string]int{}
	descName := func(d string) string {
		at := strings.LastIndex(d, "@")
		if at <= 0 {
			return d
		}
		return d[:at]
	}
	for _, e := range entries {
		if len(e.descs) == 0 {
			continue
		}
		i, ok := idx[descName(e.descs[0])+"@"+e.version]
		if !ok {
			continue
		}
		for _, d := range e.descs {
			byDesc[d] = i
		}
		if e.integrity != "" && len(pkgs[i].Hashes) == 0 {
			if h, ok := sriHash(e.integrity); ok {
				pkgs[i].Hashes = []Hash{h}
			}
		}
	}
	for _, e := range entries {
		if len(e.descs) == 0 {
			continue
		}
		i, ok := byDesc[e.descs[0]]
		if !ok {
			continue
		}
		for _, d := range e.deps {
			j, ok := byDesc[d]
			if !ok {
				// Berry writes "dep: npm:^1" in dependencies and
				// "dep@npm:^1" in descriptors.
				name, rng, _ := strings.Cut(d, "@")
				if strings.HasPrefix(d, "@") {
					at := strings.Index(d[1:], "@")
					if at < 0 {
						continue
					}
					name, rng = d[:at+1], d[at+2:]
				}
				j, ok = byDesc[name+"@npm:"+rng]
			}
			if ok {
				pkgs[i].Deps = appendUnique(pkgs[i].Deps, pkgs[j].ID())
			}
		}
	}
	pj, err := os.ReadFile(filepath.Join(filepath.Dir(file), "package.json"))
	if err != nil {
		return
	}
	var m struct {
		D  map[string]string `json:"dependencies"`
		DD map[string]string `json:"devDependencies"`
		OD map[string]string `json:"optionalDependencies"`
	}
	if json.Unmarshal(pj, &m) != nil {
		return
	}
	direct := map[string]bool{}
	for _, mm := range []map[string]string{m.D, m.DD, m.OD} {
		for n, r := range mm {
			for _, d := range []string{n + "@" + r, n + "@npm:" + r} {
				if i, ok := byDesc[d]; ok {
					direct[pkgs[i].Name+"@"+pkgs[i].Version] = true
				}
			}
		}
	}
	setRelations(pkgs, direct)
}

// gemfileRelations reads Gemfile.lock: under each "specs:" a gem at four
// spaces ("name (version)") and its dependencies at six; the DEPENDENCIES
// section lists the direct ones.
func gemfileRelations(file string, pkgs []Package) {
	data, err := os.ReadFile(file)
	if err != nil {
		return
	}
	byName := map[string]int{}
	for i := range pkgs {
		byName[pkgs[i].Name] = i
	}
	gemName := func(s string) string {
		n, _, _ := strings.Cut(strings.TrimSpace(s), " ")
		return strings.TrimSuffix(n, "!")
	}
	section := ""
	inSpecs := false
	cur := -1
	direct := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 4<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			continue
		}
		indent := len(line) - len(strings.TrimLeft(line, " "))
		switch {
		case indent == 0:
			section, inSpecs, cur = strings.TrimSpace(line), false, -1
		case section == "DEPENDENCIES" && indent == 2:
			if i, ok := byName[gemName(line)]; ok {
				direct[pkgs[i].Name+"@"+pkgs[i].Version] = true
			}
		case indent == 2:
			inSpecs = strings.TrimSpace(line) == "specs:"
		case inSpecs && indent == 4:
			cur = -1
			if i, ok := byName[gemName(line)]; ok {
				cur = i
			}
		case inSpecs && indent == 6 && cur >= 0:
			if j, ok := byName[gemName(line)]; ok {
				pkgs[cur].Deps = appendUnique(pkgs[cur].Deps, pkgs[j].ID())
			}
		}
	}
	setRelations(pkgs, direct)
}
