package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podium/podium/internal/image"
)

// newImageCommand manages the node's image store, DATA_DIR/agent/images, as
// `k3s ctr images` and `k3s crictl images` do. It works on the store directly, so it
// may run beside the agent.
func newImageCommand() *cobra.Command {
	var dataDir string
	cmd := &cobra.Command{
		Use:   "image",
		Short: "Import, list, pull and remove the node's images",
	}
	cmd.PersistentFlags().StringVar(&dataDir, "data-dir", defaultDataDir, "the node's data directory; images are in DIR/agent/images")
	open := func(registriesFile string) (image.Store, error) {
		return image.New(image.Config{
			Root:           filepath.Join(dataDir, "agent", "images"),
			RegistriesFile: registriesFile,
			Logger:         slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		})
	}
	registriesFile := func() string { return filepath.Join(dataDir, "registries.yaml") }
	cmd.AddCommand(
		newImageImportCommand(func() (image.Store, error) { return open("") }),
		newImageListCommand(func() (image.Store, error) { return open("") }),
		newImageRemoveCommand(func() (image.Store, error) { return open("") }),
		newImagePullCommand(func(file string) (image.Store, error) {
			if file == "" {
				file = registriesFile()
			}
			return open(file)
		}),
	)
	return cmd
}

func newImageImportCommand(open func() (image.Store, error)) *cobra.Command {
	return &cobra.Command{
		Use:   "import FILE...",
		Short: "Import images from docker-save or OCI archives (gzipped or not; - for stdin)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := open()
			if err != nil {
				return err
			}
			for _, p := range args {
				imgs, err := importFile(cmd.Context(), s, p, cmd.InOrStdin())
				if err != nil {
					return err
				}
				for _, img := range imgs {
					names := img.RepoTags
					if len(names) == 0 {
						names = []string{"<none>"}
					}
					for _, n := range names {
						fmt.Fprintf(cmd.OutOrStdout(), "imported %s (%s)\n", n, img.Id)
					}
				}
			}
			return nil
		},
	}
}

func importFile(ctx context.Context, s image.Store, path string, stdin io.Reader) ([]*runtimeapi.Image, error) {
	r := stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	imgs, err := s.Import(ctx, r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return imgs, nil
}

func newImageListCommand(open func() (image.Store, error)) *cobra.Command {
	var quiet bool
	cmd := &cobra.Command{
		Use:     "ls",
		Aliases: []string{"list"},
		Short:   "List the images, as crictl images does",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := open()
			if err != nil {
				return err
			}
			imgs, err := s.ListImages(cmd.Context())
			if err != nil {
				return err
			}
			if quiet {
				for _, img := range imgs {
					fmt.Fprintln(cmd.OutOrStdout(), img.Id)
				}
				return nil
			}
			return writeImageTable(cmd.OutOrStdout(), imgs)
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print only image IDs")
	return cmd
}

// writeImageTable prints IMAGE, TAG, IMAGE ID (13 hex digits) and SIZE, a row per
// tag, as crictl images does.
func writeImageTable(out io.Writer, imgs []*runtimeapi.Image) error {
	w := tabwriter.NewWriter(out, 20, 1, 3, ' ', 0)
	fmt.Fprintln(w, "IMAGE\tTAG\tIMAGE ID\tSIZE")
	for _, img := range imgs {
		id := strings.TrimPrefix(img.Id, "sha256:")
		if len(id) > 13 {
			id = id[:13]
		}
		size := humanSize(img.Size)
		for _, rt := range repoTags(img) {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", rt[0], rt[1], id, size)
		}
	}
	return w.Flush()
}

// repoTags splits an image's tags into repository and tag; an untagged image shows
// the repository of its digest, or <none>.
func repoTags(img *runtimeapi.Image) [][2]string {
	var out [][2]string
	for _, t := range img.RepoTags {
		i := strings.LastIndexByte(t, ':')
		if i < 0 || strings.Contains(t[i:], "/") {
			out = append(out, [2]string{t, "<none>"})
			continue
		}
		out = append(out, [2]string{t[:i], t[i+1:]})
	}
	if len(out) == 0 {
		repo := "<none>"
		if len(img.RepoDigests) > 0 {
			repo, _, _ = strings.Cut(img.RepoDigests[0], "@")
		}
		out = append(out, [2]string{repo, "<none>"})
	}
	return out
}

// humanSize writes a byte count with three significant digits in decimal units
// ("2.23MB"), as crictl does.
func humanSize(n uint64) string {
	units := []string{"B", "kB", "MB", "GB", "TB", "PB"}
	f := float64(n)
	i := 0
	for f >= 1000 && i < len(units)-1 {
		f /= 1000
		i++
	}
	return fmt.Sprintf("%.3g%s", f, units[i])
}

func newImageRemoveCommand(open func() (image.Store, error)) *cobra.Command {
	return &cobra.Command{
		Use:     "rm REF...",
		Aliases: []string{"rmi"},
		Short:   "Remove images by reference or ID; unused content is deleted",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := open()
			if err != nil {
				return err
			}
			var errs []error
			for _, ref := range args {
				spec := &runtimeapi.ImageSpec{Image: ref}
				img, err := s.ImageStatus(cmd.Context(), spec)
				if err == nil && img == nil {
					err = errors.New("no such image")
				}
				if err == nil {
					err = s.RemoveImage(cmd.Context(), spec)
				}
				if err != nil {
					errs = append(errs, fmt.Errorf("%s: %w", ref, err))
					continue
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Deleted: %s\n", ref)
			}
			return errors.Join(errs...)
		},
	}
}

func newImagePullCommand(open func(registriesFile string) (image.Store, error)) *cobra.Command {
	var registriesFile, creds string
	cmd := &cobra.Command{
		Use:   "pull REF",
		Short: "Pull an image, through the mirrors of DIR/registries.yaml",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := open(registriesFile)
			if err != nil {
				return err
			}
			var auth *runtimeapi.AuthConfig
			if creds != "" {
				user, pass, ok := strings.Cut(creds, ":")
				if !ok {
					return errors.New("--creds: want USER:PASSWORD")
				}
				auth = &runtimeapi.AuthConfig{Username: user, Password: pass}
			}
			id, err := s.PullImage(cmd.Context(), &runtimeapi.ImageSpec{Image: args[0]}, auth)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Image is up to date for %s\n", id)
			return nil
		},
	}
	cmd.Flags().StringVar(&registriesFile, "registries", "", "k3s-style registries.yaml (default DIR/registries.yaml)")
	cmd.Flags().StringVar(&creds, "creds", "", "USER:PASSWORD for the registry")
	return cmd
}
