// Package inventory lists the packages in a container image, layer by
// layer.
//
// The flow: Scan reads every layer of a v1.Image once, in order, applying
// whiteouts (".wh.NAME" removes NAME, ".wh..wh..opq" empties a folder of
// what lower layers put there) to an in-memory view of the file tree.
// While it streams a layer it keeps only what the package readers need:
//
//   - OS package databases, kept whole and read at the end: the dpkg status
//     file and the files of status.d (ParseDpkgStatus), the apk installed
//     database (ParseApkInstalled), and os-release for the distribution;
//   - files that osv-scalibr's extractors ask for (Go binaries' build info,
//     package.json in node_modules, Python METADATA/PKG-INFO, jars), read
//     on the spot and replaced by the packages they yield;
//   - lockfiles (package-lock.json, Cargo.lock, rebar.lock...), read by
//     internal/inventory; and OTP applications of a rebar3/mix release
//     (lib/NAME-VSN/ebin/NAME.app).
//
// A package found in a file belongs to the layer that last wrote that
// file; a dpkg package of the one status file belongs to the lowest layer
// from which the same name and version has been there without a break (as
// syft and trivy attribute them). A whiteout in an upper layer removes the
// file, and with it its packages.
package inventory

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	scalibrinv "github.com/google/osv-scalibr/extractor"
	"github.com/google/osv-scalibr/extractor/filesystem"
	"github.com/google/osv-scalibr/extractor/filesystem/language/golang/gobinary"
	"github.com/google/osv-scalibr/extractor/filesystem/language/java/archive"
	"github.com/google/osv-scalibr/extractor/filesystem/language/javascript/packagejson"
	"github.com/google/osv-scalibr/extractor/filesystem/language/python/wheelegg"
	"github.com/google/osv-scalibr/extractor/filesystem/os/rpm"
	rpmmeta "github.com/google/osv-scalibr/extractor/filesystem/os/rpm/metadata"
	scalibrfs "github.com/google/osv-scalibr/fs"
	scalibrinventory "github.com/google/osv-scalibr/inventory"
	kgzip "github.com/klauspost/compress/gzip"
	"github.com/package-url/packageurl-go"

	cpb "github.com/google/osv-scalibr/binary/proto/config_go_proto"
	lockinv "github.com/shipgate/shipgate/internal/inventory"
)

// Package is one package found in an image.
type Package struct {
	// Type is the kind of record it came from: deb, apk, go-module,
	// npm, python, java-archive, otp-app, or a lockfile kind.
	Type string `json:"type"`
	// Ecosystem is the OSV ecosystem: "Debian:12", "Alpine:v3.20",
	// "Ubuntu:22.04", "Go", "npm", "PyPI", "Maven", "Hex"...
	Ecosystem string `json:"ecosystem"`
	Name      string `json:"name"`
	Version   string `json:"version"`
	// SourceName and SourceVersion name the distribution's source package
	// (dpkg Source:, apk origin), which is what Debian, Ubuntu and Alpine
	// advisories name. Empty for language packages.
	SourceName    string `json:"source_name,omitempty"`
	SourceVersion string `json:"source_version,omitempty"`
	Architecture  string `json:"arch,omitempty"`
	PURL          string `json:"purl,omitempty"`
	// Layer is the index (0 = bottom) of the layer the package came from;
	// LayerDiffID that layer's uncompressed digest.
	Layer       int    `json:"layer"`
	LayerDiffID string `json:"layer_diff_id"`
	// Location is the file it was read from, absolute in the image.
	Location string `json:"location"`
	// Line is where the package's entry starts in Location (0 unknown).
	Line int `json:"line,omitempty"`
}

// MatchName is the name advisories use: the source package for OS
// packages, else Name.
func (p *Package) MatchName() string {
	if p.SourceName != "" {
		return p.SourceName
	}
	return p.Name
}

// MatchVersion is the version advisories are matched against.
func (p *Package) MatchVersion() string {
	if p.SourceVersion != "" {
		return p.SourceVersion
	}
	return p.Version
}

// Layer describes one image layer.
type Layer struct {
	Index     int    `json:"index"`
	DiffID    string `json:"diff_id"`
	CreatedBy string `json:"created_by,omitempty"`
	Packages  int    `json:"packages"`
}

// Distro is what os-release says.
type Distro struct {
	ID        string `json:"id"`
	VersionID string `json:"version_id,omitempty"`
	Codename  string `json:"codename,omitempty"`
	Pretty    string `json:"pretty_name,omitempty"`
}

// Result is an image's inventory.
type Result struct {
	Distro   *Distro   `json:"distro,omitempty"`
	Layers   []Layer   `json:"layers"`
	Packages []Package `json:"packages"`
	// Problems are lines of package databases that could not be read,
	// and extractors that failed on a file; the rest is still listed.
	Problems []string `json:"problems,omitempty"`
}

// node is a file of the merged tree.
type node struct {
	layer int
	hdr   tar.Header
	data  []byte    // kept for OS databases and os-release
	rpmdb bool      // data is an rpm database, read at the end
	pkgs  []Package // packages read from the file when it was streamed
}

// scanner holds the merged tree while layers are read.
type scanner struct {
	files    map[string]*node
	layers   []Layer
	probs    []string
	exts     []filesystem.Extractor
	rpm      filesystem.Extractor
	tmp      string
	statusAt map[int][]DpkgEntry // dpkg status as written by a layer (nil entry: whited out)
}

const (
	dpkgStatus  = "var/lib/dpkg/status"
	dpkgStatusD = "var/lib/dpkg/status.d/"
	apkDB       = "lib/apk/db/installed"
)

var osReleasePaths = []string{"etc/os-release", "usr/lib/os-release"}

// Scan lists the packages of img.
func Scan(img v1.Image) (*Result, error) {
	layers, err := img.Layers()
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	s := &scanner{files: map[string]*node{}, statusAt: map[int][]DpkgEntry{}}
	for _, mk := range []func(*cpb.PluginConfig) (filesystem.Extractor, error){
		gobinary.New, packagejson.New, wheelegg.New, archive.New,
	} {
		ex, err := mk(&cpb.PluginConfig{})
		if err != nil {
			return nil, err
		}
		s.exts = append(s.exts, ex)
	}
	if s.rpm, err = rpm.New(&cpb.PluginConfig{}); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "shipgate-image-inv-")
	if err != nil {
		return nil, err
	}
	s.tmp = tmp
	defer os.RemoveAll(tmp)

	// History entries that are not empty layers line up with the layers.
	var created []string
	for _, h := range cf.History {
		if !h.EmptyLayer {
			created = append(created, h.CreatedBy)
		}
	}
	for i, l := range layers {
		// The config lists the diff IDs; asking a compressed layer for its
		// own would decompress it once more just to hash it.
		var diff v1.Hash
		if i < len(cf.RootFS.DiffIDs) && len(cf.RootFS.DiffIDs) == len(layers) {
			diff = cf.RootFS.DiffIDs[i]
		} else if diff, err = l.DiffID(); err != nil {
			return nil, err
		}
		// The diff ID (uncompressed digest) identifies a layer here, as in
		// syft and docker history: a docker-archive has no compressed
		// digests, and computing them means compressing every layer.
		li := Layer{Index: i, DiffID: diff.String()}
		if i < len(created) {
			li.CreatedBy = created[i]
		}
		s.layers = append(s.layers, li)
		if err := s.readLayer(i, l); err != nil {
			return nil, fmt.Errorf("layer %d (%s): %w", i, diff, err)
		}
	}
	return s.result(), nil
}

func (s *scanner) readLayer(idx int, l v1.Layer) error {
	rc, err := uncompressed(l)
	if err != nil {
		return err
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(path.Clean("/"+h.Name), "/")
		if name == "" {
			continue
		}
		dir, base := path.Split(name)
		dir = strings.TrimSuffix(dir, "/")
		if base == ".wh..wh..opq" {
			s.removeUnder(dir, idx, false)
			continue
		}
		if strings.HasPrefix(base, ".wh.") {
			target := path.Join(dir, strings.TrimPrefix(base, ".wh."))
			s.removeUnder(target, idx, true)
			if target == dpkgStatus {
				s.statusAt[idx] = nil
			}
			continue
		}
		if h.Typeflag == tar.TypeDir {
			continue
		}
		n := &node{layer: idx, hdr: *h}
		s.files[name] = n
		if h.Typeflag != tar.TypeReg && h.Typeflag != tar.TypeRegA { //nolint:staticcheck // old tars
			continue
		}
		if err := s.readFile(idx, name, n, tr); err != nil {
			return err
		}
	}
}

// uncompressed opens a layer's tar stream, decompressing gzip with
// klauspost/compress (about twice as fast as compress/gzip); other layers
// go through go-containerregistry.
func uncompressed(l v1.Layer) (io.ReadCloser, error) {
	mt, err := l.MediaType()
	if err != nil || !strings.Contains(string(mt), "gzip") {
		return l.Uncompressed()
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, err
	}
	zr, err := kgzip.NewReader(bufio.NewReaderSize(rc, 1<<20))
	if err != nil {
		rc.Close()
		return l.Uncompressed()
	}
	return struct {
		io.Reader
		io.Closer
	}{zr, rc}, nil
}

// removeUnder removes target (when self) and everything under it that a
// lower layer put there.
func (s *scanner) removeUnder(target string, idx int, self bool) {
	if self {
		if n, ok := s.files[target]; ok && n.layer < idx {
			delete(s.files, target)
		}
	}
	prefix := target + "/"
	if target == "" {
		prefix = ""
	}
	for p, n := range s.files {
		if strings.HasPrefix(p, prefix) && n.layer < idx {
			delete(s.files, p)
		}
	}
}

// fileAPI lets scalibr's FileRequired look at a tar entry.
type fileAPI struct {
	p    string
	info fs.FileInfo
}

func (f fileAPI) Path() string               { return f.p }
func (f fileAPI) Stat() (fs.FileInfo, error) { return f.info, nil }

func (s *scanner) readFile(idx int, name string, n *node, r io.Reader) error {
	switch {
	case name == dpkgStatus:
		data, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		n.data = data
		ents, _ := ParseDpkgStatus("/"+name, data)
		s.statusAt[idx] = ents
		return nil
	case strings.HasPrefix(name, dpkgStatusD), name == apkDB, name == osReleasePaths[0], name == osReleasePaths[1]:
		data, err := io.ReadAll(r)
		n.data = data
		return err
	}
	info := n.hdr.FileInfo()
	api := fileAPI{p: name, info: info}
	if s.rpm.FileRequired(api) {
		// The rpm database (Berkeley DB, NDB or SQLite) is read from a
		// file by go-rpmdb, once the final tree is known.
		data, err := io.ReadAll(r)
		n.data, n.rpmdb = data, true
		return err
	}
	var want []filesystem.Extractor
	for _, ex := range s.exts {
		if ex.Name() == gobinary.Name && !isELFCandidate(name, info) {
			continue
		}
		if ex.FileRequired(api) {
			want = append(want, ex)
		}
	}
	kind := lockinv.Detect(name)
	if kind != "" && (strings.Contains(name, "node_modules/") || kind == lockinv.GoMod || kind == lockinv.GoVendor ||
		kind == lockinv.Requirements || kind == lockinv.RebarConfig) {
		// Manifests and lockfiles of installed packages describe their
		// development, not what is in the image.
		kind = ""
	}
	otp := otpAppFile(name)
	if len(want) == 0 && kind == "" && !otp {
		return nil
	}
	if len(want) > 0 && want[0].Name() == gobinary.Name {
		// Only an ELF file can hold Go build info: look at the magic
		// before reading a whole executable.
		var magic [4]byte
		n, _ := io.ReadFull(r, magic[:])
		r = io.MultiReader(bytes.NewReader(magic[:n]), r)
		if n < 4 || string(magic[:]) != "\x7fELF" {
			want = want[1:]
			if len(want) == 0 && kind == "" && !otp {
				return nil
			}
		}
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	for _, ex := range want {
		n.pkgs = append(n.pkgs, s.extract(ex, name, info, data)...)
	}
	if kind != "" {
		n.pkgs = append(n.pkgs, s.lockfile(kind, name, data)...)
	}
	if otp {
		if app, vsn, _, err := lockinv.ParseAppSrc("/"+name, data); err == nil && app != "" && vsn != "" {
			n.pkgs = append(n.pkgs, Package{Type: "otp-app", Ecosystem: "Hex", Name: app, Version: vsn,
				PURL: purl("hex", "", app, vsn, nil)})
		} else if err != nil {
			s.probs = append(s.probs, err.Error())
		}
	}
	return nil
}

// isELFCandidate: the Go binary reader wants executables; shared objects
// and files in obviously non-binary places are skipped before reading.
func isELFCandidate(name string, info fs.FileInfo) bool {
	return info.Mode()&0o111 != 0 && !strings.HasSuffix(name, ".so") && !strings.Contains(name, ".so.")
}

// otpAppFile matches lib/NAME-VSN/ebin/NAME.app in a release.
func otpAppFile(name string) bool {
	if !strings.HasSuffix(name, ".app") {
		return false
	}
	parts := strings.Split(name, "/")
	if len(parts) < 4 || parts[len(parts)-2] != "ebin" || parts[len(parts)-4] != "lib" {
		return false
	}
	app := strings.TrimSuffix(parts[len(parts)-1], ".app")
	return strings.HasPrefix(parts[len(parts)-3], app+"-")
}

func (s *scanner) extract(ex filesystem.Extractor, name string, info fs.FileInfo, data []byte) (out []Package) {
	defer func() {
		if r := recover(); r != nil {
			s.probs = append(s.probs, fmt.Sprintf("/%s: %s reader failed: %v", name, ex.Name(), r))
			out = nil
		}
	}()
	inv, err := ex.Extract(context.Background(), &filesystem.ScanInput{
		FS: scalibrfs.DirFS(s.tmp), Path: name, Root: "/", Info: info, Reader: bytes.NewReader(data),
	})
	if err != nil {
		s.probs = append(s.probs, fmt.Sprintf("/%s: %s: %v", name, ex.Name(), err))
		return nil
	}
	for _, sp := range inv.Packages {
		out = append(out, fromScalibr(ex.Name(), sp))
	}
	return out
}

func fromScalibr(ext string, sp *scalibrinv.Package) Package {
	p := Package{Name: sp.Name, Version: sp.Version, Ecosystem: sp.Ecosystem().String()}
	switch ext {
	case gobinary.Name:
		p.Type = "go-module"
	case packagejson.Name:
		p.Type = "npm"
	case wheelegg.Name:
		p.Type = "python"
	case archive.Name:
		p.Type = "java-archive"
	default:
		p.Type = ext
	}
	if u := sp.PURL(); u != nil {
		p.PURL = u.String()
	}
	if ext == gobinary.Name && p.Name == "go" {
		// The toolchain a binary was built with: OSV's Go advisories name
		// it "stdlib" (as osv-scanner and syft do).
		p.Name = "stdlib"
		p.PURL = purl("golang", "", "stdlib", p.Version, nil)
	}
	return p
}

func (s *scanner) lockfile(kind lockinv.Kind, name string, data []byte) []Package {
	dir, err := os.MkdirTemp(s.tmp, "lock-")
	if err != nil {
		return nil
	}
	defer os.RemoveAll(dir)
	p := filepath.Join(dir, filepath.Base(name))
	if kind == lockinv.GoVendor {
		p = filepath.Join(dir, "vendor", "modules.txt")
		_ = os.MkdirAll(filepath.Dir(p), 0o755)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		return nil
	}
	pkgs, err := lockinv.ParseFile(kind, p)
	if err != nil {
		s.probs = append(s.probs, fmt.Sprintf("/%s: %v", name, strings.ReplaceAll(err.Error(), p, "/"+name)))
	}
	var out []Package
	for _, lp := range pkgs {
		out = append(out, Package{Type: string(kind), Ecosystem: lp.Ecosystem, Name: lp.Name, Version: lp.Version, PURL: lp.PURL})
	}
	return out
}

// result assembles the final inventory from the merged tree.
func (s *scanner) result() *Result {
	res := &Result{Layers: s.layers}
	res.Distro = s.distro()
	osEco := ""
	purlNS := ""
	if d := res.Distro; d != nil {
		osEco, purlNS = distroEcosystem(d)
	}
	var pkgs []Package
	// dpkg: the status file, then status.d.
	if n, ok := s.files[dpkgStatus]; ok {
		ents, probs := ParseDpkgStatus("/"+dpkgStatus, n.data)
		for _, p := range probs {
			res.Problems = append(res.Problems, p.Error())
		}
		for _, e := range ents {
			if !e.Installed() {
				continue
			}
			pkgs = append(pkgs, s.debPackage(e, s.introduced(e, n.layer), "/"+dpkgStatus, osEco, purlNS))
		}
	}
	var paths []string
	for p := range s.files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		n := s.files[p]
		if strings.HasPrefix(p, dpkgStatusD) && !strings.HasSuffix(p, ".md5sums") && n.data != nil {
			ents, probs := ParseDpkgStatus("/"+p, n.data)
			for _, pr := range probs {
				res.Problems = append(res.Problems, pr.Error())
			}
			for _, e := range ents {
				if e.Installed() {
					pkgs = append(pkgs, s.debPackage(e, n.layer, "/"+p, osEco, purlNS))
				}
			}
		}
		if p == apkDB {
			ents, probs := ParseApkInstalled("/"+p, n.data)
			for _, pr := range probs {
				res.Problems = append(res.Problems, pr.Error())
			}
			for _, e := range ents {
				pk := Package{Type: "apk", Ecosystem: osEco, Name: e.Name, Version: e.Version,
					Architecture: e.Architecture, Layer: n.layer, Location: "/" + p, Line: e.Line}
				if e.Origin != "" && e.Origin != e.Name {
					pk.SourceName = e.Origin
				}
				if osEco == "" {
					pk.Ecosystem = "Alpine"
				}
				q := packageurl.Qualifiers{}
				if e.Architecture != "" {
					q = append(q, packageurl.Qualifier{Key: "arch", Value: e.Architecture})
				}
				if purlNS != "" && res.Distro != nil {
					q = append(q, packageurl.Qualifier{Key: "distro", Value: res.Distro.ID + "-" + res.Distro.VersionID})
				}
				if pk.SourceName != "" {
					q = append(q, packageurl.Qualifier{Key: "upstream", Value: pk.SourceName})
				}
				pk.PURL = purl("apk", "alpine", e.Name, e.Version, q)
				pkgs = append(pkgs, pk)
			}
		}
		if n.rpmdb {
			for _, pk := range s.readRPM(p, n) {
				pk.Layer, pk.Location = n.layer, "/"+p
				pkgs = append(pkgs, pk)
			}
		}
		for _, pk := range n.pkgs {
			pk.Layer = n.layer
			pk.Location = "/" + p
			pkgs = append(pkgs, pk)
		}
	}
	for i := range pkgs {
		pkgs[i].LayerDiffID = s.layers[pkgs[i].Layer].DiffID
		res.Layers[pkgs[i].Layer].Packages++
	}
	sort.SliceStable(pkgs, func(i, j int) bool {
		a, b := pkgs[i], pkgs[j]
		if a.Type != b.Type {
			return typeRank(a.Type) < typeRank(b.Type) || (typeRank(a.Type) == typeRank(b.Type) && a.Type < b.Type)
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		if a.Version != b.Version {
			return a.Version < b.Version
		}
		return a.Location < b.Location
	})
	res.Packages = pkgs
	if res.Packages == nil {
		res.Packages = []Package{}
	}
	res.Problems = append(res.Problems, s.probs...)
	sort.Strings(res.Problems)
	return res
}

// readRPM writes the rpm database and os-release to a scratch tree and
// runs osv-scalibr's rpm extractor on it (go-rpmdb opens files by path).
func (s *scanner) readRPM(name string, n *node) []Package {
	root, err := os.MkdirTemp(s.tmp, "rpm-")
	if err != nil {
		return nil
	}
	defer os.RemoveAll(root)
	put := func(rel string, data []byte) error {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		return os.WriteFile(p, data, 0o644)
	}
	if err := put(name, n.data); err != nil {
		return nil
	}
	for _, p := range osReleasePaths {
		if m, ok := s.files[p]; ok && m.data != nil {
			_ = put(p, m.data)
		}
	}
	if d := s.distroData(); d != nil {
		_ = put("etc/os-release", d)
	}
	info := n.hdr.FileInfo()
	inv, err := func() (inv scalibrinventory.Inventory, err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("rpm reader failed: %v", r)
			}
		}()
		return s.rpm.Extract(context.Background(), &filesystem.ScanInput{
			FS: scalibrfs.DirFS(root), Path: name, Root: root, Info: info,
			Reader: bytes.NewReader(n.data),
		})
	}()
	if err != nil {
		s.probs = append(s.probs, fmt.Sprintf("/%s: %v", name, err))
		return nil
	}
	var out []Package
	for _, sp := range inv.Packages {
		p := Package{Type: "rpm", Name: sp.Name, Version: sp.Version, Ecosystem: sp.Ecosystem().String()}
		if m, ok := sp.Metadata.(*rpmmeta.Metadata); ok {
			p.Architecture = m.Architecture
			if src := m.SourceRPM; src != "" {
				// name-version-release.src.rpm: the source name is what
				// Red Hat advisories name.
				src = strings.TrimSuffix(src, ".src.rpm")
				if i := strings.LastIndex(src, "-"); i > 0 {
					if j := strings.LastIndex(src[:i], "-"); j > 0 && src[:j] != p.Name {
						p.SourceName = src[:j]
					}
				}
			}
		}
		if u := sp.PURL(); u != nil {
			p.PURL = u.String()
		}
		out = append(out, p)
	}
	return out
}

func typeRank(t string) int {
	switch t {
	case "deb", "apk", "rpm":
		return 0
	}
	return 1
}

func (s *scanner) debPackage(e DpkgEntry, layer int, loc, eco, ns string) Package {
	p := Package{Type: "deb", Ecosystem: eco, Name: e.Package, Version: e.Version,
		Architecture: e.Architecture, Layer: layer, Location: loc, Line: e.Line}
	if e.Source != "" {
		p.SourceName = e.Source
	}
	if e.SourceVersion != "" && e.SourceVersion != e.Version {
		p.SourceVersion = e.SourceVersion
	}
	if p.Ecosystem == "" {
		p.Ecosystem = "Debian"
	}
	if ns == "" {
		ns = "debian"
	}
	q := packageurl.Qualifiers{}
	if e.Architecture != "" {
		q = append(q, packageurl.Qualifier{Key: "arch", Value: e.Architecture})
	}
	if s.files != nil {
		if d := s.distro(); d != nil && d.VersionID != "" {
			q = append(q, packageurl.Qualifier{Key: "distro", Value: d.ID + "-" + d.VersionID})
		}
	}
	if e.Source != "" {
		up := e.Source
		if e.SourceVersion != "" && e.SourceVersion != e.Version {
			up += "@" + e.SourceVersion
		}
		q = append(q, packageurl.Qualifier{Key: "upstream", Value: up})
	}
	p.PURL = purl("deb", ns, e.Package, e.Version, q)
	return p
}

// introduced finds the lowest layer from which the entry has been in the
// status file without a break, up to the layer of the final file.
func (s *scanner) introduced(e DpkgEntry, top int) int {
	intro := top
	// Status as seen after each layer: the last write at or below it.
	seen := func(layer int) ([]DpkgEntry, bool) {
		for l := layer; l >= 0; l-- {
			if ents, ok := s.statusAt[l]; ok {
				return ents, true
			}
		}
		return nil, false
	}
	for l := top - 1; l >= 0; l-- {
		ents, ok := seen(l)
		if !ok {
			break
		}
		found := false
		for _, x := range ents {
			if x.Package == e.Package && x.Version == e.Version && x.Architecture == e.Architecture && x.Installed() {
				found = true
				break
			}
		}
		if !found {
			break
		}
		intro = l
	}
	return intro
}

// distro reads os-release (following the usual etc -> usr/lib symlink).
func (s *scanner) distro() *Distro {
	data := s.distroData()
	if data == nil {
		return nil
	}
	d := &Distro{}
	for _, line := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok {
			continue
		}
		v = strings.Trim(v, `"'`)
		switch k {
		case "ID":
			d.ID = v
		case "VERSION_ID":
			d.VersionID = v
		case "VERSION_CODENAME":
			d.Codename = v
		case "PRETTY_NAME":
			d.Pretty = v
		}
	}
	if d.ID == "" {
		return nil
	}
	return d
}

// distroData is the content of os-release, or nil.
func (s *scanner) distroData() []byte {
	var data []byte
	for _, p := range osReleasePaths {
		n, ok := s.files[p]
		if !ok {
			continue
		}
		if n.hdr.Typeflag == tar.TypeSymlink {
			t := n.hdr.Linkname
			if !path.IsAbs(t) {
				t = path.Join(path.Dir("/"+p), t)
			}
			if m, ok := s.files[strings.TrimPrefix(path.Clean(t), "/")]; ok && m.data != nil {
				data = m.data
				break
			}
			continue
		}
		if n.data != nil {
			data = n.data
			break
		}
	}
	return data
}

// distroEcosystem gives the OSV ecosystem and purl namespace of a distro.
func distroEcosystem(d *Distro) (string, string) {
	switch d.ID {
	case "debian":
		v, _, _ := strings.Cut(d.VersionID, ".")
		if v == "" {
			return "Debian", "debian"
		}
		return "Debian:" + v, "debian"
	case "ubuntu":
		return "Ubuntu:" + d.VersionID, "ubuntu"
	case "alpine":
		parts := strings.Split(d.VersionID, ".")
		if len(parts) >= 2 {
			return "Alpine:v" + parts[0] + "." + parts[1], "alpine"
		}
		return "Alpine", "alpine"
	}
	return "", d.ID
}

func purl(typ, ns, name, version string, q packageurl.Qualifiers) string {
	return packageurl.NewPackageURL(typ, ns, name, version, q, "").ToString()
}
