// Package keys is hookwire's API keys: created with a role, shown once,
// stored as SHA-256 hashes, checked in constant time. The bootstrap admin
// key comes from --admin-key and is never stored.
package keys

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookwire/hookwire/engine/model"
	"github.com/hookwire/hookwire/engine/store"
)

// Role is what a key may do (CONTRACT §2).
type Role string

// The roles: admin may do everything, architect configures, ingest sends
// events.
const (
	RoleAdmin     Role = "admin"
	RoleArchitect Role = "architect"
	RoleIngest    Role = "ingest"
)

// Valid reports whether r is one of the roles.
func (r Role) Valid() bool { return r == RoleAdmin || r == RoleArchitect || r == RoleIngest }

// KeyPrefix starts every generated key, so a leaked one is recognisable.
const KeyPrefix = "hwk_"

var keyEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// Ring holds the keys. Authenticate is lock-free and safe from any
// goroutine; changes are serialised.
type Ring struct {
	store     *store.Store
	bootstrap []byte // sha256 of --admin-key, or nil

	mu     sync.Mutex
	byHash atomic.Pointer[map[string]*model.APIKey]
}

// Open loads the stored keys; adminKey (may be empty) is the bootstrap key.
func Open(st *store.Store, adminKey string) (*Ring, error) {
	r := &Ring{store: st}
	if adminKey != "" {
		sum := sha256.Sum256([]byte(adminKey))
		r.bootstrap = sum[:]
	}
	stored, err := st.LoadKeys()
	if err != nil {
		return nil, err
	}
	m := make(map[string]*model.APIKey, len(stored))
	for _, k := range stored {
		m[k.Hash] = k
	}
	r.byHash.Store(&m)
	return r, nil
}

func hashOf(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// Authenticate returns the role of key, or "" when it is unknown. The
// bootstrap key is compared in constant time; stored keys are found by the
// hash of the presented key (a random 160-bit key's hash reveals nothing
// through timing) and then compared in constant time too.
func (r *Ring) Authenticate(key string) Role {
	if key == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(key))
	if r.bootstrap != nil && subtle.ConstantTimeCompare(sum[:], r.bootstrap) == 1 {
		return RoleAdmin
	}
	h := hex.EncodeToString(sum[:])
	k, ok := (*r.byHash.Load())[h]
	if !ok || subtle.ConstantTimeCompare([]byte(k.Hash), []byte(h)) != 1 {
		return ""
	}
	return Role(k.Role)
}

// Create makes a key with role and returns its record and the key itself,
// which is not kept and cannot be shown again.
func (r *Ring) Create(name string, role Role) (*model.APIKey, string, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "" || len(name) > 200:
		return nil, "", &model.InvalidError{Path: "name", Message: "required, at most 200 characters", Index: -1}
	case !role.Valid():
		return nil, "", &model.InvalidError{Path: "role", Message: fmt.Sprintf("%q is not a role: use admin, architect or ingest", role), Index: -1}
	}
	var raw [25]byte
	rand.Read(raw[:])
	key := KeyPrefix + keyEncoding.EncodeToString(raw[:])
	rec := &model.APIKey{ID: model.NewID("key_"), Name: name, Role: string(role), Hash: hashOf(key),
		Prefix: key[:len(KeyPrefix)+4], CreatedAt: time.Now().UTC()}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.store.PutKey(rec); err != nil {
		return nil, "", err
	}
	r.swap(func(m map[string]*model.APIKey) { m[rec.Hash] = rec })
	return rec, key, nil
}

// List returns the keys (without secrets), oldest first.
func (r *Ring) List() []*model.APIKey {
	out := make([]*model.APIKey, 0, len(*r.byHash.Load()))
	for _, k := range *r.byHash.Load() {
		out = append(out, k)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].ID < out[j-1].ID; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// Delete revokes a key at once.
func (r *Ring) Delete(id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for h, k := range *r.byHash.Load() {
		if k.ID == id {
			if err := r.store.DeleteKey(id); err != nil {
				return err
			}
			r.swap(func(m map[string]*model.APIKey) { delete(m, h) })
			return nil
		}
	}
	return fmt.Errorf("%w: no key %s", model.ErrNotFound, id)
}

func (r *Ring) swap(change func(map[string]*model.APIKey)) {
	old := *r.byHash.Load()
	next := make(map[string]*model.APIKey, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	change(next)
	r.byHash.Store(&next)
}
