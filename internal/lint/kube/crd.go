package kube

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// Schemas for kinds the built-in types do not know (CRDs, vendor kinds),
// loaded from files the user points at:
//
//   - JSON Schema files named as kubeconform and the CRDs-catalog name them:
//     <kind>-<group prefix>-<version>.json (e.g. trainingjob-sagemaker-v1.json),
//     <group>/<kind>_<version>.json, <kind>_<version>.json or <kind>.json;
//   - CustomResourceDefinition manifests (YAML or JSON): the openAPIV3Schema
//     of each served version is used for that group/version/kind.
type schemaSet struct {
	byStem map[string]*jsonschema.Schema // lower-case relative path without extension
	byGVK  map[string]*jsonschema.Schema // group/version/kind from CRDs
}

// LoadSchemas reads JSON Schema files and CRD manifests from each path (a
// folder, walked, or a file). Objects of those kinds are then validated
// instead of skipped. Errors name the file.
func (l *Linter) LoadSchemas(paths ...string) error {
	if l.schemas == nil {
		l.schemas = &schemaSet{byStem: map[string]*jsonschema.Schema{}, byGVK: map[string]*jsonschema.Schema{}}
	}
	for _, root := range paths {
		st, err := os.Stat(root)
		if err != nil {
			return fmt.Errorf("schema path: %w", err)
		}
		base := root
		if !st.IsDir() {
			base = filepath.Dir(root)
		}
		err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(base, p)
			return l.schemas.load(p, rel)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func (s *schemaSet) load(path, rel string) error {
	ext := strings.ToLower(filepath.Ext(path))
	if ext != ".json" && ext != ".yaml" && ext != ".yml" {
		return nil
	}
	src, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	docs, perr := parseStream(src)
	if perr != nil {
		pe := toParseError(perr)
		return fmt.Errorf("%s:%d:%d: %s", path, pe.line, pe.col, pe.msg)
	}
	for _, d := range docs {
		if d.root.str("kind") == "CustomResourceDefinition" {
			if err := s.addCRD(path, d.root); err != nil {
				return err
			}
			continue
		}
		if ext != ".json" || d.root.kind != mapNode || (d.root.str("apiVersion") != "" && d.root.str("kind") != "") {
			continue // not a JSON Schema: a manifest kept beside the schemas
		}
		sch, err := compile("file:///"+filepath.ToSlash(rel), d.root)
		if err != nil {
			return fmt.Errorf("%s: %v", path, err)
		}
		stem := strings.ToLower(filepath.ToSlash(strings.TrimSuffix(rel, filepath.Ext(rel))))
		s.byStem[stem] = sch
		s.byStem[strings.ToLower(strings.TrimSuffix(filepath.Base(rel), filepath.Ext(rel)))] = sch
	}
	return nil
}

func compile(url string, root *node) (*jsonschema.Schema, error) {
	budget := maxNodes
	doc := root.toAny(&budget)
	if budget < 0 {
		return nil, errors.New("schema too large")
	}
	c := jsonschema.NewCompiler()
	c.UseLoader(noLoader{})
	if err := c.AddResource(url, doc); err != nil {
		return nil, err
	}
	return c.Compile(url)
}

// noLoader refuses to fetch $refs: nothing leaves the machine.
type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("not loading %s: schemas must be self-contained (no network, no other files)", url)
}

func (s *schemaSet) addCRD(path string, crd *node) error {
	spec := crd.get("spec")
	group := spec.str("group")
	kind := spec.at("names").str("kind")
	if group == "" || kind == "" {
		return nil
	}
	add := func(version string, sch *node) error {
		if version == "" || sch == nil || sch.kind != mapNode {
			return nil
		}
		key := group + "/" + version + "/" + kind
		compiled, err := compile("mem:///"+key+".json", sch)
		if err != nil {
			return fmt.Errorf("%s: CRD %s: %v", path, key, err)
		}
		s.byGVK[key] = compiled
		return nil
	}
	if vs := spec.get("versions"); vs != nil && vs.kind == seqNode {
		for _, v := range vs.items {
			if err := add(v.str("name"), v.at("schema").get("openAPIV3Schema")); err != nil {
				return err
			}
		}
	}
	// apiextensions.k8s.io/v1beta1: one schema for every version.
	if legacy := spec.at("validation").get("openAPIV3Schema"); legacy != nil {
		versions := []string{spec.str("version")}
		if vs := spec.get("versions"); vs != nil && vs.kind == seqNode {
			for _, v := range vs.items {
				versions = append(versions, v.str("name"))
			}
		}
		for _, v := range slices.Compact(versions) {
			if err := add(v, legacy); err != nil {
				return err
			}
		}
	}
	return nil
}

// find returns the schema for an apiVersion and kind, or nil.
func (s *schemaSet) find(apiVersion, kind string) *jsonschema.Schema {
	if s == nil {
		return nil
	}
	group, version, ok := strings.Cut(apiVersion, "/")
	if !ok {
		group, version = "", apiVersion
	}
	if sch := s.byGVK[group+"/"+version+"/"+kind]; sch != nil {
		return sch
	}
	k := strings.ToLower(kind)
	prefix, _, _ := strings.Cut(group, ".")
	for _, stem := range []string{
		k + "-" + strings.ToLower(prefix) + "-" + version,
		strings.ToLower(group) + "/" + k + "_" + version,
		k + "_" + version,
		k + "-" + version,
		k,
	} {
		if sch := s.byStem[stem]; sch != nil {
			return sch
		}
	}
	return nil
}

var printer = message.NewPrinter(language.English)

// validateCustom checks an object against a user-supplied schema and
// reports each failing leaf at the node it points to.
func (l *Linter) validateCustom(o *object, sch *jsonschema.Schema) {
	budget := maxNodes
	doc := o.root.toAny(&budget)
	if budget < 0 {
		l.report(o.File, o.root, RuleSchema, "object too large or too deeply aliased to check (more than %d nodes)", maxNodes)
		return
	}
	err := sch.Validate(doc)
	var ve *jsonschema.ValidationError
	if err == nil || !errors.As(err, &ve) {
		o.Valid = err == nil
		return
	}
	var leaves []*jsonschema.ValidationError
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			leaves = append(leaves, e)
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	for i, e := range leaves {
		if i >= 50 {
			break
		}
		path := make([]any, len(e.InstanceLocation))
		for j, p := range e.InstanceLocation {
			path[j] = p
			if n := o.root.at(path[:j]...); n.kind == seqNode {
				var idx int
				if _, err := fmt.Sscanf(p, "%d", &idx); err == nil {
					path[j] = idx
				}
			}
		}
		where := "/" + strings.Join(e.InstanceLocation, "/")
		var msg bytes.Buffer
		msg.WriteString(e.ErrorKind.LocalizedString(printer))
		l.report(o.File, o.root.at(path...), RuleSchema, "%s %s: %s: %s", o.Kind, o.Name, where, msg.String())
	}
}
