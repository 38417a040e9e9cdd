package runc

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

type passwdEntry struct {
	name string
	uid  uint32
	gid  uint32
}

type groupEntry struct {
	name    string
	gid     uint32
	members []string
}

func parsePasswd(r io.Reader) []passwdEntry {
	var out []passwdEntry
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Split(sc.Text(), ":")
		if len(f) < 4 || strings.HasPrefix(f[0], "#") {
			continue
		}
		uid, err1 := strconv.ParseUint(f[2], 10, 32)
		gid, err2 := strconv.ParseUint(f[3], 10, 32)
		if err1 != nil || err2 != nil {
			continue
		}
		out = append(out, passwdEntry{name: f[0], uid: uint32(uid), gid: uint32(gid)})
	}
	return out
}

func parseGroup(r io.Reader) []groupEntry {
	var out []groupEntry
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Split(sc.Text(), ":")
		if len(f) < 3 || strings.HasPrefix(f[0], "#") {
			continue
		}
		gid, err := strconv.ParseUint(f[2], 10, 32)
		if err != nil {
			continue
		}
		g := groupEntry{name: f[0], gid: uint32(gid)}
		if len(f) > 3 && f[3] != "" {
			g.members = strings.Split(f[3], ",")
		}
		out = append(out, g)
	}
	return out
}

// userInput is what decides a container's user: the CRI security context (RunAsUser,
// RunAsUsername, RunAsGroup, SupplementalGroups), else the image's user, resolved with
// the rootfs's /etc/passwd and /etc/group.
type userInput struct {
	SecurityContext *runtimeapi.LinuxContainerSecurityContext
	ImageUser       string // "", "uid", "name", "uid:gid", "name:group"
	Passwd          []passwdEntry
	Group           []groupEntry
}

// resolveUser decides the uid, gid and additional gids as containerd's CRI does. It
// does no IO.
func resolveUser(in userInput) (specs.User, error) {
	sc := in.SecurityContext
	var u specs.User
	var name string
	gidSet := false
	userPart, groupPart, _ := strings.Cut(in.ImageUser, ":")
	switch {
	case sc.GetRunAsUser() != nil:
		u.UID = uint32(sc.GetRunAsUser().GetValue())
		groupPart = ""
	case sc.GetRunAsUsername() != "":
		userPart, groupPart = sc.GetRunAsUsername(), ""
		fallthrough
	default:
		if userPart == "" {
			break
		}
		if n, err := strconv.ParseUint(userPart, 10, 32); err == nil {
			u.UID = uint32(n)
			break
		}
		found := false
		for _, p := range in.Passwd {
			if p.name == userPart {
				u.UID, found = p.uid, true
				break
			}
		}
		if !found {
			return u, fmt.Errorf("user %q is not in the image's /etc/passwd", userPart)
		}
	}
	for _, p := range in.Passwd {
		if p.uid == u.UID {
			name, u.GID = p.name, p.gid
			break
		}
	}
	if groupPart != "" {
		if n, err := strconv.ParseUint(groupPart, 10, 32); err == nil {
			u.GID, gidSet = uint32(n), true
		} else {
			for _, g := range in.Group {
				if g.name == groupPart {
					u.GID, gidSet = g.gid, true
					break
				}
			}
			if !gidSet {
				return u, fmt.Errorf("group %q is not in the image's /etc/group", groupPart)
			}
		}
	}
	if sc.GetRunAsGroup() != nil {
		u.GID = uint32(sc.GetRunAsGroup().GetValue())
	}
	// As containerd does, the primary group is also the first additional group.
	seen := map[uint32]bool{}
	add := func(g uint32) {
		if !seen[g] {
			seen[g] = true
			u.AdditionalGids = append(u.AdditionalGids, g)
		}
	}
	add(u.GID)
	if name != "" {
		for _, g := range in.Group {
			for _, m := range g.members {
				if m == name {
					add(g.gid)
				}
			}
		}
	}
	for _, g := range sc.GetSupplementalGroups() {
		add(uint32(g))
	}
	return u, nil
}

// readRootfsFile reads a file of a container's rootfs, resolving symlinks inside the
// rootfs (openat2 RESOLVE_IN_ROOT), so an image cannot make us read the host's files.
// A missing file reads as empty.
func readRootfsFile(rootfs, name string) ([]byte, error) {
	dir, err := unix.Open(rootfs, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(dir)
	fd, err := unix.Openat2(dir, name, &unix.OpenHow{
		Flags:   unix.O_RDONLY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	})
	if errors.Is(err, unix.ENOENT) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("opening %s in the rootfs: %w", name, err)
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, 16<<20))
}

// lookupUser resolves a container's user against its mounted rootfs.
func lookupUser(rootfs string, sc *runtimeapi.LinuxContainerSecurityContext, imageUser string) (specs.User, error) {
	passwd, err := readRootfsFile(rootfs, "etc/passwd")
	if err != nil {
		return specs.User{}, err
	}
	group, err := readRootfsFile(rootfs, "etc/group")
	if err != nil {
		return specs.User{}, err
	}
	return resolveUser(userInput{
		SecurityContext: sc,
		ImageUser:       imageUser,
		Passwd:          parsePasswd(bytes.NewReader(passwd)),
		Group:           parseGroup(bytes.NewReader(group)),
	})
}
