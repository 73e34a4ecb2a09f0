# The systemd units (dist/systemd), checked with systemd-analyze verify: part of `make test` on Linux.
.PHONY: systemd-units

systemd-units: $(TCPPROXY) ## check the systemd units with systemd-analyze verify
	@$(ENSURE_PACKAGES) systemd
	@$(TOP)/dist/systemd/verify-units.sh $(TCPPROXY)

ifneq ($(UNAME_S),Darwin)
TEST_TARGETS += systemd-units
endif
