package workflow

import (
	"strings"

	"go.yaml.in/yaml/v4"
)

// rawRoot is the file parsed again as plain YAML nodes, for the few values
// actionlint's tree does not keep (container volumes).
func (b *builder) rawRoot() *yaml.Node {
	if b.yamlRoot == nil {
		b.yamlRoot = &yaml.Node{}
		if err := yaml.Unmarshal(b.src, b.yamlRoot); err != nil {
			b.yamlRoot = &yaml.Node{}
		}
	}
	return b.yamlRoot
}

// mapGet is the value under key in a mapping node (through documents and
// aliases); fold compares keys case-insensitively.
func mapGet(n *yaml.Node, key string, fold bool) *yaml.Node {
	for n != nil && (n.Kind == yaml.DocumentNode || n.Kind == yaml.AliasNode) {
		if n.Kind == yaml.AliasNode {
			n = n.Alias
		} else if len(n.Content) > 0 {
			n = n.Content[0]
		} else {
			return nil
		}
	}
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i].Value
		if k == key || fold && strings.EqualFold(k, key) {
			v := n.Content[i+1]
			if v.Kind == yaml.AliasNode {
				v = v.Alias
			}
			return v
		}
	}
	return nil
}

// seqUnder reads jobs.<job>.container.<key> (service "") or
// jobs.<job>.services.<service>.<key> as a list of strings.
func (b *builder) seqUnder(key, job, service string) []String {
	n := mapGet(mapGet(b.rawRoot(), "jobs", false), job, false)
	if service == "" {
		n = mapGet(n, "container", false)
	} else {
		n = mapGet(mapGet(n, "services", false), service, true)
	}
	n = mapGet(n, key, false)
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	var out []String
	for _, e := range n.Content {
		if e.Kind == yaml.AliasNode {
			e = e.Alias
		}
		if e.Kind == yaml.ScalarNode {
			out = append(out, String{Value: e.Value, Pos: b.posAt(e.Line, e.Column), Set: true})
		}
	}
	return out
}
