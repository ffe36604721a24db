package osv

import "testing"

func TestMatchKeepsToTheRelease(t *testing.T) {
	r := &Record{ID: "DEBIAN-CVE-2023-45853", Affected: []Affected{
		{Package: PackageRef{Ecosystem: "Debian:12", Name: "zlib"}, Ranges: []Range{{Type: "ECOSYSTEM", Events: []Event{{Introduced: "0"}}}}},
		{Package: PackageRef{Ecosystem: "Debian:13", Name: "zlib"}, Ranges: []Range{{Type: "ECOSYSTEM", Events: []Event{{Introduced: "0"}, {Fixed: "1:1.3.dfsg-2"}}}}},
	}}
	db := New(r)
	for eco, wantFixed := range map[string]string{"Debian:12": "", "Debian:13": "1:1.3.dfsg-2", "Debian": "1:1.3.dfsg-2"} {
		vs := db.Match(eco, "zlib", "1:1.2.13.dfsg-1")
		if len(vs) != 1 || vs[0].Fixed != wantFixed {
			t.Errorf("%s: %+v, want one finding fixed in %q", eco, vs, wantFixed)
		}
	}
	if vs := db.Match("Debian:13", "zlib", "1:1.3.dfsg-2"); len(vs) != 0 {
		t.Errorf("trixie's fixed version still matched: %+v", vs)
	}
}
