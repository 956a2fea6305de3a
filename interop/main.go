// Command interop-check cross-checks a custody evidence bundle (ledger/bundle.py) with code that shares
// nothing with the Python implementation: golang.org/x/mod/sumdb/note for C2SP signed notes,
// golang.org/x/mod/sumdb/tlog for RFC 6962 Merkle trees, and crypto/ed25519 for C2SP tlog-cosignature
// (x/mod's note package knows only signature type 0x01, not the cosignature type 0x04).
//
// Usage: interop-check BUNDLE [EXTRA.tlog-proof ...]
//
// BUNDLE is an exported bundle directory or its .zip.  One summary line per check, then
// "interop-check OK: ..." and exit status 0; "interop-check FAIL: ..." and exit status 1 at the first
// failed check; exit status 2 for a usage error.
package main

import (
	"archive/zip"
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const usage = "usage: interop-check BUNDLE [EXTRA.tlog-proof ...]   (BUNDLE: an exported bundle directory or .zip)"

func fail(format string, args ...any) {
	fmt.Printf("interop-check FAIL: "+format+"\n", args...)
	os.Exit(1)
}

// check fails with the message and err unless err is nil.
func check(err error, format string, args ...any) {
	if err != nil {
		fail(format+": %v", append(args, err)...)
	}
}

func usageError(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "interop-check: "+format+"\n", args...)
	fmt.Fprintln(os.Stderr, usage)
	os.Exit(2)
}

// b64 is RFC 4648 §4 base64, padded, with zero pad bits: the encoding of every C2SP format used here.
var b64 = base64.StdEncoding.Strict()

// parseDecimal reads an ASCII decimal without sign or leading zeroes, below 2^63 (tlog-checkpoint tree
// size, tlog-proof index; Go's tlog uses int64).
func parseDecimal(s string) (int64, bool) {
	n, err := strconv.ParseUint(s, 10, 63)
	return int64(n), err == nil && (s == "0" || s[0] != '0')
}

// parseHash reads one base64 SHA-256 hash (a checkpoint root, a proof line).
func parseHash(s string) (h tlog.Hash, ok bool) {
	raw, err := b64.DecodeString(s)
	copy(h[:], raw)
	return h, err == nil && len(raw) == tlog.HashSize
}

// tree holds the RFC 6962 tree of entries.jsonl as tlog's stored hashes; it is the tlog.HashReader.
type tree struct {
	stored []tlog.Hash
	n      int64
}

func (t *tree) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		out[i] = t.stored[x] // tlog asks only for hashes of the first t.n leaves
	}
	return out, nil
}

// root is the Merkle Tree Hash of the first size leaves (RFC 6962 §2.1).  MTH({}) is SHA-256 of the
// empty string, but tlog.TreeHash(0) returns all zeroes, so the empty tree is computed here.
func (t *tree) root(size int64) tlog.Hash {
	if size == 0 {
		return tlog.Hash(sha256.Sum256(nil))
	}
	h, err := tlog.TreeHash(size, t)
	check(err, "RFC 6962 root of size %d", size)
	return h
}

func (t *tree) leafHash(i int64) tlog.Hash { return t.stored[tlog.StoredHashIndex(0, i)] }

// readEntries hashes entries.jsonl.  ledger/bundle.py writes each leaf -- the RFC 8785 (JCS) bytes of one
// entry, exactly what the ledger hashed -- followed by "\n"; the leaf is the line without it, and its hash
// is SHA-256(0x00 || leaf) (RFC 6962 §2.1, tlog.RecordHash).  Also returns line 1, the genesis entry.
func readEntries(fsys fs.FS) (*tree, []byte) {
	f, err := fsys.Open("entries.jsonl")
	check(err, "entries.jsonl")
	defer f.Close()
	t := &tree{}
	var genesis []byte
	r := bufio.NewReaderSize(f, 1<<20)
	for {
		line, err := r.ReadBytes('\n')
		if err == io.EOF {
			if len(line) > 0 {
				fail("entries.jsonl: line %d does not end with a newline", t.n+1)
			}
			break
		}
		check(err, "entries.jsonl")
		leaf := line[:len(line)-1]
		if len(leaf) == 0 {
			fail("entries.jsonl: line %d is empty", t.n+1)
		}
		if t.n == 0 {
			genesis = leaf
		}
		hashes, err := tlog.StoredHashes(t.n, leaf, t)
		check(err, "entries.jsonl: line %d", t.n+1)
		t.stored = append(t.stored, hashes...)
		t.n++
	}
	if t.n == 0 {
		fail("entries.jsonl holds no entries")
	}
	return t, genesis
}

// keyRef is how a signature line names its key: key name and 32-bit key ID (C2SP signed-note, "Format").
type keyRef struct {
	name string
	id   uint32
}

// keyID is SHA-256(key name || "\n" || signature type || public key)[:4] (C2SP signed-note, "Signatures";
// C2SP tlog-cosignature, "Format", with type 0x04 for Ed25519 cosignatures).
func keyID(name string, typ byte, pub []byte) uint32 {
	h := sha256.Sum256(append(append([]byte(name+"\n"), typ), pub...))
	return binary.BigEndian.Uint32(h[:4])
}

// parseCosignerVkey reads a witness vkey, <name>+<hex key ID>+<base64(type || key)> (C2SP signed-note,
// "Verifier keys"), which must be type 0x04 with a 32-byte Ed25519 key (tlog-cosignature, "Format").
func parseCosignerVkey(vkey string) (keyRef, ed25519.PublicKey, error) {
	parts := strings.SplitN(vkey, "+", 3)
	if len(parts) != 3 || len(parts[1]) != 8 {
		return keyRef{}, nil, errors.New("not <name>+<8 hex digits>+<key>")
	}
	id, err := strconv.ParseUint(parts[1], 16, 32)
	raw, err2 := b64.DecodeString(parts[2])
	if err != nil || err2 != nil || len(raw) != 1+ed25519.PublicKeySize {
		return keyRef{}, nil, errors.New("malformed key ID or key")
	}
	if raw[0] != 0x04 {
		return keyRef{}, nil, fmt.Errorf("signature type 0x%02x, not 0x04 (cosignature/v1)", raw[0])
	}
	if uint32(id) != keyID(parts[0], 0x04, raw[1:]) {
		return keyRef{}, nil, errors.New("key ID does not match the key")
	}
	return keyRef{parts[0], uint32(id)}, ed25519.PublicKey(raw[1:]), nil
}

// readGenesis returns the witness keys the bundle names: the genesis entry (line 1, seq 0,
// contract.opened) carries the contract's municipality.witness_vkeys in its body, which is where custody
// takes them from without a trust store (verify/trust.py).  Its body's log_vkey must be log.vkey.
func readGenesis(leaf []byte, logVkey string) map[keyRef]ed25519.PublicKey {
	var g struct {
		Seq  int64  `json:"seq"`
		Type string `json:"type"`
		Body struct {
			LogVkey      string   `json:"log_vkey"`
			WitnessVkeys []string `json:"witness_vkeys"`
		} `json:"body"`
	}
	check(json.Unmarshal(leaf, &g), "genesis entry (line 1 of entries.jsonl)")
	if g.Seq != 0 || g.Type != "contract.opened" {
		fail("line 1 of entries.jsonl is not the genesis entry (contract.opened at seq 0)")
	}
	if g.Body.LogVkey != logVkey {
		fail("log.vkey %q differs from the genesis entry's log_vkey %q", logVkey, g.Body.LogVkey)
	}
	witnesses := map[keyRef]ed25519.PublicKey{}
	for _, v := range g.Body.WitnessVkeys {
		ref, pub, err := parseCosignerVkey(v)
		check(err, "genesis entry: witness key %q", v)
		witnesses[ref] = pub
	}
	return witnesses
}

type checkpoint struct {
	size   int64
	root   tlog.Hash
	cosigs int
}

// openCheckpoint verifies a checkpoint note with the log key (note.Open: C2SP signed-note, "Signatures")
// and every other signature line on it as a witness cosignature, then parses its text (C2SP
// tlog-checkpoint, "Note text": origin, decimal tree size, base64 root hash, optional extension lines).
func openCheckpoint(where string, msg []byte, logKey note.Verifier, witnesses map[keyRef]ed25519.PublicKey) checkpoint {
	n, err := note.Open(msg, note.VerifierList(logKey))
	check(err, "%s: does not verify with log.vkey", where)
	lines := strings.Split(strings.TrimSuffix(n.Text, "\n"), "\n")
	if len(lines) < 3 {
		fail("%s: checkpoint text needs origin, size and root hash lines", where)
	}
	size, ok := parseDecimal(lines[1])
	root, ok2 := parseHash(lines[2])
	if !ok || !ok2 {
		fail("%s: malformed tree size %q or root hash %q", where, lines[1], lines[2])
	}
	if lines[0] != logKey.Name() {
		fail("%s: origin %q is not the log key's name %q", where, lines[0], logKey.Name())
	}
	cp := checkpoint{size: size, root: root}
	for _, sig := range n.UnverifiedSigs { // every line not from the log key
		verifyCosignature(where, n.Text, sig, witnesses)
		cp.cosigs++
	}
	return cp
}

// verifyCosignature checks a signature line as an Ed25519 cosignature/v1 (C2SP tlog-cosignature).  Its
// (name, key ID) must be a witness key of the genesis entry: an unknown key is a failure, not skipped.
// "Format": after the key ID comes a timestamped_signature, u64 big-endian timestamp (at most 2^63 - 1)
// || 64-byte Ed25519 signature.  "Ed25519 signed message": "cosignature/v1\n", "time <timestamp>\n" (ASCII
// decimal), then the whole checkpoint note text with its final newline, without signature lines.
func verifyCosignature(where, text string, sig note.Signature, witnesses map[keyRef]ed25519.PublicKey) {
	pub, ok := witnesses[keyRef{sig.Name, sig.Hash}]
	if !ok {
		fail("%s: signature by unknown key %s+%08x: not log.vkey, not a genesis witness key", where, sig.Name, sig.Hash)
	}
	raw, err := b64.DecodeString(sig.Base64)
	if err != nil || len(raw) != 4+8+ed25519.SignatureSize {
		fail("%s: cosignature by %s is not key ID || u64 timestamp || Ed25519 signature", where, sig.Name)
	}
	timestamp := binary.BigEndian.Uint64(raw[4:12])
	if timestamp > 1<<63-1 {
		fail("%s: cosignature by %s has a timestamp beyond 2^63 - 1", where, sig.Name)
	}
	msg := fmt.Sprintf("cosignature/v1\ntime %d\n%s", timestamp, text)
	if !ed25519.Verify(pub, []byte(msg), raw[12:]) {
		fail("%s: cosignature by %s (time %d) does not verify", where, sig.Name, timestamp)
	}
}

// checkProof verifies a C2SP tlog-proof ("Format"): the line "c2sp.org/tlog-proof@v1", an optional
// "extra <base64>" line, "index <decimal>",
// zero or more base64 hashes (the RFC 6962 §2.1.1 audit path from the leaf's sibling up), an empty line,
// then the checkpoint note verbatim.  No line before the empty one is empty, so it is the first "\n\n".
// The leaf is entry <index> of the bundle.  Returns the index.
func checkProof(where string, data []byte, t *tree, logKey note.Verifier, witnesses map[keyRef]ed25519.PublicKey) int64 {
	head, cpNote, found := bytes.Cut(data, []byte("\n\n"))
	if !found {
		fail("%s: no empty line before the checkpoint", where)
	}
	lines := strings.Split(string(head), "\n")
	if lines[0] != "c2sp.org/tlog-proof@v1" {
		fail("%s: first line is not c2sp.org/tlog-proof@v1", where)
	}
	lines = lines[1:]
	if len(lines) > 0 && strings.HasPrefix(lines[0], "extra ") {
		lines = lines[1:] // opaque, unauthenticated data: applications must not trust it, nor do we use it
	}
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "index ") {
		fail("%s: no index line", where)
	}
	index, ok := parseDecimal(strings.TrimPrefix(lines[0], "index "))
	if !ok {
		fail("%s: index is not a decimal without leading zeroes", where)
	}
	var proof tlog.RecordProof
	for _, line := range lines[1:] {
		h, ok := parseHash(line)
		if !ok {
			fail("%s: proof line %q is not a base64 SHA-256 hash", where, line)
		}
		proof = append(proof, h)
	}
	cp := openCheckpoint(where+" (its checkpoint)", cpNote, logKey, witnesses)
	if index >= t.n {
		fail("%s: index %d is beyond the bundle's %d entries", where, index, t.n)
	}
	if cp.size <= t.n && cp.root != t.root(cp.size) {
		fail("%s: its checkpoint's root differs from the RFC 6962 root of the first %d entries", where, cp.size)
	}
	check(tlog.CheckRecord(proof, cp.size, cp.root, index, t.leafHash(index)),
		"%s: inclusion proof of entry %d in the tree of size %d rejected", where, index, cp.size)
	return index
}

func openBundle(path string) fs.FS {
	info, err := os.Stat(path)
	if err != nil {
		usageError("no bundle at %s", path)
	}
	if info.IsDir() {
		return os.DirFS(path)
	}
	z, err := zip.OpenReader(path)
	if err != nil {
		usageError("%s is neither a bundle directory nor a zip: %v", path, err)
	}
	return z
}

func main() {
	if len(os.Args) < 2 || strings.HasPrefix(os.Args[1], "-") {
		usageError("give the bundle to check")
	}
	fsys := openBundle(os.Args[1])
	extras := make([][]byte, len(os.Args)-2)
	for i, path := range os.Args[2:] {
		data, err := os.ReadFile(path)
		if err != nil {
			usageError("cannot read %s: %v", path, err)
		}
		extras[i] = data
	}

	vkey, err := fs.ReadFile(fsys, "log.vkey")
	check(err, "log.vkey")
	logVkey := strings.TrimSpace(string(vkey))
	logKey, err := note.NewVerifier(logVkey)
	check(err, "log.vkey is not an Ed25519 (0x01) vkey")
	t, genesis := readEntries(fsys)
	fmt.Printf("entries: %d lines of entries.jsonl hashed as RFC 6962 leaves\n", t.n)
	witnesses := readGenesis(genesis, logVkey)
	fmt.Printf("keys: log.vkey %s is the genesis entry's, which names %d witness key(s)\n", logKey.Name(), len(witnesses))

	names, _ := fs.Glob(fsys, "checkpoints/*")
	if len(names) == 0 {
		fail("no checkpoints/: nothing in the bundle is signed by the log")
	}
	var cps []checkpoint // in size order: fs.Glob sorts the names, which hold the zero-padded size
	cosigs := 0
	for _, name := range names {
		msg, err := fs.ReadFile(fsys, name)
		check(err, "%s", name)
		cp := openCheckpoint(name, msg, logKey, witnesses)
		if want := fmt.Sprintf("checkpoints/%012d.checkpoint", cp.size); name != want {
			fail("%s holds the checkpoint of size %d (expected the name %s)", name, cp.size, want)
		}
		if cp.size > t.n {
			fail("%s: size %d is beyond the bundle's %d entries", name, cp.size, t.n)
		}
		if want := t.root(cp.size); cp.root != want {
			fail("%s: root %v differs from the RFC 6962 root %v of the first %d entries", name, cp.root, want, cp.size)
		}
		cps = append(cps, cp)
		cosigs += cp.cosigs
	}
	fmt.Printf("checkpoints: %d verify with log.vkey (note.Open), roots equal tlog's from entries.jsonl\n", len(cps))
	fmt.Printf("cosignatures: %d cosignature/v1 line(s) verify with genesis witness keys (crypto/ed25519)\n", cosigs)

	// Consecutive checkpoints: a consistency proof (RFC 6962 §2.1.2) made from the entries by
	// tlog.ProveTree must take the older checkpoint's root to the newer one's (tlog.CheckTree).
	pairs := 0
	for i := 1; i < len(cps); i++ {
		older, newer := cps[i-1], cps[i]
		if older.size == 0 {
			continue // the empty tree is a prefix of every tree
		}
		proof, err := tlog.ProveTree(newer.size, older.size, t)
		if err == nil {
			err = tlog.CheckTree(proof, newer.size, newer.root, older.size, older.root)
		}
		check(err, "checkpoint of size %d is not consistent with size %d", newer.size, older.size)
		pairs++
	}
	fmt.Printf("consistency: %d consecutive checkpoint pair(s) verify (tlog.ProveTree, tlog.CheckTree)\n", pairs)

	proofNames, _ := fs.Glob(fsys, "proofs/*.tlog-proof")
	for _, name := range proofNames {
		data, err := fs.ReadFile(fsys, name)
		check(err, "%s", name)
		index := checkProof(name, data, t, logKey, witnesses)
		if want := fmt.Sprintf("proofs/%d.tlog-proof", index); name != want {
			fail("%s holds the proof of entry %d (expected the name %s)", name, index, want)
		}
	}
	for i, path := range os.Args[2:] {
		checkProof(path, extras[i], t, logKey, witnesses)
	}
	proofs := len(proofNames) + len(extras)
	fmt.Printf("proofs: %d tlog-proof file(s) verify (%d in the bundle, %d given), tlog.CheckRecord\n",
		proofs, len(proofNames), len(extras))
	fmt.Printf("interop-check OK: %d entries, %d checkpoints (largest %d), %d cosignatures, %d proofs\n",
		t.n, len(cps), cps[len(cps)-1].size, cosigs, proofs)
}
