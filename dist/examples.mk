# The deployment examples (dist/kubernetes), checked against the binary: part of `make test` on Linux.
.PHONY: dist-examples

dist-examples: $(TCPPROXY) ## check the Kubernetes example against the binary
	@$(ENSURE_PACKAGES) python3-yaml
	@/usr/bin/python3 -B $(TOP)/dist/check-examples.py $(TCPPROXY) $(TOP)/dist/kubernetes/tcpproxy.yaml

ifneq ($(UNAME_S),Darwin)
TEST_TARGETS += dist-examples
endif
