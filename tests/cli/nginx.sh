# Helpers of the download tests: a test CA and certificates (openssl), and
# Debian's nginx serving the case's directory on 127.0.0.1, on a free port,
# with its own prefix; stopped when the case's shell exits. Sourced after
# tests/cli/lib.sh.

# tls_ca NAME: a CA, NAME.key and NAME.pem (EC P-256, 2 days).
tls_ca() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$1.key" -out "$1.pem" -subj "/CN=$1" -days 2 \
		2>/dev/null || fail "openssl: cannot make CA $1"
}

# tls_cert NAME CA SAN [DAYS]: NAME.key and NAME.pem, signed by CA, for
# subjectAltName SAN (e.g. "IP:127.0.0.1,DNS:localhost"); DAYS -1 gives a
# certificate that expired yesterday.
tls_cert() {
	local name=$1 ca=$2 san=$3 days=${4:-2}
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$name.key" -out "$name.csr" -subj "/CN=$name" \
		2>/dev/null || fail "openssl: cannot make a request for $name"
	printf 'subjectAltName=%s\n' "$san" >"$name.ext"
	openssl x509 -req -in "$name.csr" -CA "$ca.pem" -CAkey "$ca.key" \
		-CAcreateserial -days "$days" -extfile "$name.ext" \
		-out "$name.pem" 2>/dev/null || fail "openssl: cannot sign $name"
}

# nginx_start SERVER_LINES: nginx serving $PWD/www on 127.0.0.1:$PORT
# (set here), with SERVER_LINES inside its server block (listen options,
# TLS, locations). The access log (www.log) has one line per request:
# "STATUS RANGE BYTES_SENT URI X-Slotflip-Test". NGINX_HTTP_LINES, when
# set, go into the http block (log formats).
nginx_start() {
	local lines=$1 try
	mkdir -p www nginx/tmp
	for try in 1 2 3 4 5 6 7 8; do
		PORT=$((20000 + RANDOM % 20000))
		cat >nginx/nginx.conf <<EOF
user root;
worker_processes 1;
pid $PWD/nginx/nginx.pid;
error_log $PWD/nginx/error.log info;
events { worker_connections 64; }
http {
	default_type application/octet-stream;
	client_body_temp_path $PWD/nginx/tmp;
	proxy_temp_path $PWD/nginx/tmp;
	fastcgi_temp_path $PWD/nginx/tmp;
	uwsgi_temp_path $PWD/nginx/tmp;
	scgi_temp_path $PWD/nginx/tmp;
	log_format t '\$status "\$http_range" \$body_bytes_sent \$uri "\$http_x_slotflip_test"';
	access_log $PWD/www.log t;
	${NGINX_HTTP_LINES:-}
	server {
		root $PWD/www;
		$(printf '%s' "$lines" | sed "s/@PORT@/$PORT/g")
	}
}
EOF
		if nginx -p "$PWD/nginx" -c "$PWD/nginx/nginx.conf" 2>nginx/start.err; then
			trap nginx_stop EXIT
			return 0
		fi
		grep -q "Address already in use" nginx/start.err ||
			{ cat nginx/start.err; fail "nginx does not start"; }
	done
	fail "no free port for nginx"
}

nginx_stop() {
	[ -s nginx/nginx.pid ] && kill "$(cat nginx/nginx.pid)" 2>/dev/null
	local i
	for i in $(seq 50); do
		[ -e nginx/nginx.pid ] || return 0
		sleep 0.1
	done
}

# log_count REGEX: the access log lines that match.
log_count() {
	sleep 0.2 # nginx writes the line once the response is sent
	grep -cE -- "$1" www.log || true
}
