# The nfs-ganesha configuration that test/vm/server.sh and bench/run.sh
# use: nfs-ganesha 4.3 (Debian 12) with FSAL VFS, NFSv3 over TCP only, one
# read-write export without root squashing. Sourced, never executed.
#
# Bind_Addr stays unset: with lo as the only interface, ganesha 4.3 cannot
# resolve 127.0.0.1 (getaddrinfo with AI_ADDRCONFIG ignores loopback) and
# exits. NLM and RQUOTA are off, but ganesha still needs free ports for
# them.

# print_ganesha_config EXPORT NFS_PORT MOUNT_PORT NLM_PORT RQUOTA_PORT
# prints the configuration for exporting EXPORT on the given ports.
print_ganesha_config() {
	cat <<EOF_CONFIG
NFS_CORE_PARAM {
	NFS_Port = $2;
	MNT_Port = $3;
	NLM_Port = $4;
	Rquota_Port = $5;
	Protocols = 3;
	Enable_NLM = false;
	Enable_RQUOTA = false;
	Enable_UDP = false;
}
NFSV4 { Graceless = true; }
NFS_KRB5 { Active_krb5 = false; }
EXPORT {
	Export_Id = 1;
	Path = $1;
	Pseudo = $1;
	Protocols = 3;
	Transports = TCP;
	Access_Type = RW;
	Squash = No_Root_Squash;
	FSAL { Name = VFS; }
}
EOF_CONFIG
}
