# make static: one NativeAOT binary linked -static-pie against glibc, needing no
# libc (nor any other file) at run time: build/static/tcpproxy. The csproj binds
# every libc P/Invoke at link time when StaticExecutable is set (see there).
# NuGet has no linux-musl NativeAOT packs here, so glibc it is; its static
# getaddrinfo still reads /etc/hosts and /etc/resolv.conf where they exist.
# make container: that binary in an image FROM scratch (dist/container/Containerfile).
STATIC_DIR := $(BUILD)/static
STATIC_BIN := $(STATIC_DIR)/tcpproxy
CONTAINER_IMAGE ?= localhost/tcpproxy:latest

.PHONY: static static-check container container-check

static: $(STATIC_BIN) ## build/static/tcpproxy: fully static (glibc -static-pie), runs with no libc at all (~1 min)

# Its own artifacts path: the direct P/Invokes change ILC's output, which must not land in ./tcpproxy's obj/.
# glibc warns about each NSS and dlopen user in a static link: kept in the log, not on the console.
$(STATIC_BIN): $(CS_SOURCES)
	@mkdir -p $(STATIC_DIR)
	@dotnet publish $(CLI_PROJ) -c Release -r $(HOST_RID) -o $(STATIC_DIR) -p:PublishAot=true -p:StaticExecutable=true \
	  --artifacts-path $(BUILD)/static-artifacts --nologo > $(STATIC_DIR)/publish.log 2>&1 \
	  || { cat $(STATIC_DIR)/publish.log; exit 1; }
	@echo "built $(STATIC_BIN)"

# The static binary alone in an empty root (plus a /proc mount point): --version,
# a forward on loopback in a network namespace of its own, a name from the root's /etc/hosts.
static-check: $(STATIC_BIN) ## the static binary in an empty root: no ELF interpreter, --version, a forward (~3 s)
	@$(ENSURE_PACKAGES) iproute2 util-linux python3 binutils
	@$(TOP)/dist/static-check.sh $(STATIC_BIN)

container: $(STATIC_BIN) ## build the image FROM scratch with build/static/tcpproxy (podman or buildah)
	@$(TOP)/dist/container/build-image.sh $(STATIC_BIN) $(CONTAINER_IMAGE)

# Builds and runs the image when podman can run here; otherwise one line says why not.
container-check: $(STATIC_BIN) ## build the image and forward through it with podman, or say why not (~5 s)
	@$(TOP)/dist/container/container-check.sh $(STATIC_BIN)

ifneq ($(UNAME_S),Darwin)
TEST_TARGETS += static-check container-check
endif
