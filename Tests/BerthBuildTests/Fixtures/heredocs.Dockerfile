FROM alpine
RUN <<EOF
apk add --no-cache curl
echo "$HOME"
EOF
COPY <<-"CONF" /etc/app.conf
	key = $value
		indented
	CONF
RUN python3 <<PY > /out.txt
print("hi")
PY
COPY <<a <<b /dir/
one
a
two
b
CMD ["cat", "/dir/a"]
