package actions

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// The cache lives in .shipgate/cache/<sha256(key)>/ with a manifest.json
// naming the key and, for each cached path, the folder holding its copy.

type cacheManifest struct {
	Key     string    `json:"key"`
	Paths   []string  `json:"paths"`
	Created time.Time `json:"created"`
}

func cacheRoot(e *Env) string { return filepath.Join(e.StateDir, "cache") }

func cacheEntry(e *Env, key string) string {
	h := sha256.Sum256([]byte(key))
	return filepath.Join(cacheRoot(e), hex.EncodeToString(h[:16]))
}

func resolvePath(e *Env, p string) string {
	p = expandHome(p)
	if !filepath.IsAbs(p) {
		p = filepath.Join(e.Workspace, p)
	}
	return filepath.Clean(p)
}

// restore finds the entry for key, or the newest whose key starts with a
// restore-key, and copies its paths back. It returns the matched key.
func restore(e *Env, key string, restoreKeys []string) (string, error) {
	ents, _ := os.ReadDir(cacheRoot(e))
	var all []cacheManifest
	for _, d := range ents {
		b, err := os.ReadFile(filepath.Join(cacheRoot(e), d.Name(), "manifest.json"))
		if err != nil {
			continue
		}
		var m cacheManifest
		if json.Unmarshal(b, &m) == nil {
			all = append(all, m)
		}
	}
	slices.SortFunc(all, func(a, b cacheManifest) int { return b.Created.Compare(a.Created) })
	var hit *cacheManifest
	for i := range all {
		if all[i].Key == key {
			hit = &all[i]
		}
	}
	for _, rk := range restoreKeys {
		if hit != nil {
			break
		}
		for i := range all {
			if strings.HasPrefix(all[i].Key, rk) {
				hit = &all[i]
				break
			}
		}
	}
	if hit == nil {
		return "", nil
	}
	dir := cacheEntry(e, hit.Key)
	for i, p := range hit.Paths {
		src := filepath.Join(dir, fmt.Sprint(i))
		if _, err := os.Stat(src); err != nil {
			continue
		}
		if _, _, err := copyTree(src, p); err != nil {
			return "", err
		}
	}
	return hit.Key, nil
}

func save(e *Env, key string, paths []string) error {
	dir := cacheEntry(e, key)
	tmp := dir + ".tmp"
	os.RemoveAll(tmp)
	m := cacheManifest{Key: key, Created: time.Now()}
	for i, p := range paths {
		m.Paths = append(m.Paths, p)
		fi, err := os.Stat(p)
		if err != nil {
			continue
		}
		dst := filepath.Join(tmp, fmt.Sprint(i))
		if fi.IsDir() {
			if _, _, err := copyTree(p, dst); err != nil {
				return err
			}
		} else if _, err := copyFile(p, filepath.Join(dst, filepath.Base(p))); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return err
	}
	b, _ := json.Marshal(m)
	if err := os.WriteFile(filepath.Join(tmp, "manifest.json"), b, 0o644); err != nil {
		return err
	}
	os.RemoveAll(dir)
	return os.Rename(tmp, dir)
}

func cacheInputs(e *Env, action string) (key string, paths, restoreKeys []string, err error) {
	key = e.Input("key", "")
	if key == "" {
		return "", nil, nil, fmt.Errorf("%s: input \"key\" is required", action)
	}
	for _, p := range lines(e.Input("path", "")) {
		paths = append(paths, resolvePath(e, p))
	}
	if len(paths) == 0 {
		return "", nil, nil, fmt.Errorf("%s: input \"path\" is required", action)
	}
	return key, paths, lines(e.Input("restore-keys", "")), nil
}

// cache implements actions/cache: restore now (exact key, else the newest
// entry matching a restore-key prefix), save at the end of a successful
// job when the key was not an exact hit.
func cache(ctx context.Context, e *Env) (*Result, error) {
	key, paths, rks, err := cacheInputs(e, "actions/cache")
	if err != nil {
		return nil, err
	}
	got, err := restore(e, key, rks)
	if err != nil {
		return nil, fmt.Errorf("actions/cache: restoring: %v", err)
	}
	res := &Result{Outputs: map[string]string{"cache-hit": fmt.Sprint(got == key)}}
	switch {
	case got == "":
		e.Log("Cache not found for input keys: %s", strings.Join(append([]string{key}, rks...), ", "))
	default:
		e.Log("Cache restored from key: %s", got)
	}
	if got != key && e.Input("lookup-only", "false") != "true" {
		res.Post = func(ctx context.Context, ok bool) error {
			if !ok {
				return nil
			}
			return save(e, key, paths)
		}
	}
	return res, nil
}

func cacheRestore(ctx context.Context, e *Env) (*Result, error) {
	key, _, rks, err := cacheInputs(e, "actions/cache/restore")
	if err != nil {
		return nil, err
	}
	got, err := restore(e, key, rks)
	if err != nil {
		return nil, err
	}
	return &Result{Outputs: map[string]string{"cache-hit": fmt.Sprint(got == key), "cache-primary-key": key, "cache-matched-key": got}}, nil
}

func cacheSave(ctx context.Context, e *Env) (*Result, error) {
	key, paths, _, err := cacheInputs(e, "actions/cache/save")
	if err != nil {
		return nil, err
	}
	if err := save(e, key, paths); err != nil {
		return nil, err
	}
	e.Log("Cache saved with key: %s", key)
	return &Result{Outputs: map[string]string{}}, nil
}
