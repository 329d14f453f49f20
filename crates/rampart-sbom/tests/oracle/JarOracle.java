// Test oracle for tests/real_java.rs: prints what the JDK's own parsers
// (java.util.jar.Manifest, java.util.Properties) read from each jar given as argument.
// Output, tab-separated, tabs/newlines/backslashes in values escaped:
//   <jar> M <attribute name> <value>                        main manifest attributes
//   <jar> P <entry> <groupId> <artifactId> <version>        each META-INF/maven/**/pom.properties
//
// With `--packages <archive>...` (tests/real_java_archive.rs) it walks each archive and its nested
// archives with java.util.jar.JarFile instead, applies the identity rules documented in
// src/catalog/java_archive.rs (written again here, independently), and prints one line per
// package:
//   PKG <location> <group> <artifact> <version> <license or empty>
import java.io.File;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.jar.Manifest;

public class JarOracle {
    static String esc(Object o) {
        return String.valueOf(o).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r");
    }

    static final String[] EXTS = {"jar", "war", "ear", "jpi", "hpi", "par", "sar", "nar", "kar"};
    static final int MAX_DEPTH = 4;

    static String ext(String name) {
        String file = name.substring(name.lastIndexOf('/') + 1);
        int dot = file.lastIndexOf('.');
        return dot <= 0 ? "" : file.substring(dot + 1).toLowerCase(Locale.ROOT);
    }

    static boolean isArchive(String name, boolean inEar) {
        String e = ext(name);
        for (String x : EXTS) {
            if (x.equals(e)) return true;
        }
        return inEar && e.equals("rar");
    }

    static String nonEmpty(String s) {
        if (s == null) return null;
        s = s.trim();
        return s.isEmpty() ? null : s;
    }

    static boolean groupLike(String s) {
        if (s == null || !s.contains(".")) return false;
        for (String seg : s.split("\\.", -1)) {
            if (seg.isEmpty() || !seg.matches("[A-Za-z0-9_-]+")) return false;
        }
        return true;
    }

    // name-version split: the version starts at the last '-' segment that begins with a digit
    // and follows a segment that does not.
    static String[] splitName(String stem) {
        String[] segs = stem.split("-", -1);
        int at = -1, off = 0;
        boolean prevDigit = false;
        for (int i = 0; i < segs.length; i++) {
            boolean d = !segs[i].isEmpty() && Character.isDigit(segs[i].charAt(0)) && segs[i].charAt(0) < 128;
            if (i > 0 && d && !prevDigit) at = off;
            prevDigit = d;
            off += segs[i].length() + 1;
        }
        if (at > 1) return new String[] {stem.substring(0, at - 1), stem.substring(at)};
        return new String[] {stem, null};
    }

    static void out(String loc, String g, String a, String v, String lic) {
        System.out.println("PKG\t" + esc(loc) + "\t" + esc(g) + "\t" + esc(a) + "\t" + esc(v) + "\t" + (lic == null ? "" : esc(lic)));
    }

    static void walk(String location, String fileName, File f, int depth) throws Exception {
        try (JarFile jar = new JarFile(f, false)) {
            Manifest m = jar.getManifest();
            List<String[]> poms = new ArrayList<>();
            List<JarEntry> nested = new ArrayList<>();
            boolean inEar = ext(fileName).equals("ear");
            for (Enumeration<JarEntry> en = jar.entries(); en.hasMoreElements();) {
                JarEntry je = en.nextElement();
                String n = je.getName();
                if (je.isDirectory()) continue;
                if (n.matches("META-INF/maven/[^/]+/[^/]+/pom\\.properties")) {
                    Properties p = new Properties();
                    try (InputStream in = jar.getInputStream(je)) {
                        p.load(in);
                    }
                    String g = nonEmpty(p.getProperty("groupId")), a = nonEmpty(p.getProperty("artifactId")), v = nonEmpty(p.getProperty("version"));
                    if (g == null || a == null || v == null) continue;
                    boolean dup = false;
                    for (String[] q : poms) dup |= q[0].equals(g) && q[1].equals(a) && q[2].equals(v);
                    if (!dup) poms.add(new String[] {g, a, v});
                } else if (!n.equalsIgnoreCase("META-INF/MANIFEST.MF") && isArchive(n, inEar)) {
                    nested.add(je);
                }
            }
            int dot = fileName.lastIndexOf('.');
            String stem = dot < 0 ? fileName : fileName.substring(0, dot);
            String[] fv = splitName(stem);
            int own = -1;
            for (int i = 0; i < poms.size() && own < 0; i++) {
                if (poms.get(i)[1].equals(stem) || poms.get(i)[1].equals(fv[0])) own = i;
            }
            if (own < 0 && poms.size() == 1) own = 0;
            java.util.function.Function<String, String> attr = k -> m == null ? null : nonEmpty(m.getMainAttributes().getValue(k));
            String lic = attr.apply("Bundle-License");
            if (own < 0) {
                String bsn = attr.apply("Bundle-SymbolicName");
                if (bsn != null) bsn = nonEmpty(bsn.split(";", -1)[0]);
                String name = fv[0].isEmpty() ? null : fv[0];
                if (name == null) {
                    for (String c : new String[] {bsn, attr.apply("Implementation-Title"), attr.apply("Specification-Title")}) {
                        if (c != null && !c.matches("(?s).*\\s.*")) { name = c; break; }
                    }
                }
                String version = fv[1];
                if (version == null) version = attr.apply("Implementation-Version");
                if (version == null) version = attr.apply("Bundle-Version");
                if (version == null) version = attr.apply("Specification-Version");
                if (name != null && version != null) {
                    String group = attr.apply("Implementation-Vendor-Id");
                    if (!groupLike(group)) group = groupLike(bsn) ? bsn : name;
                    boolean dup = false;
                    for (String[] q : poms) dup |= q[0].equals(group) && q[1].equals(name) && q[2].equals(version);
                    if (!dup) out(location, group, name, version, lic);
                }
            }
            for (int i = 0; i < poms.size(); i++) {
                String[] q = poms.get(i);
                out(location, q[0], q[1], q[2], i == own ? lic : null);
            }
            for (JarEntry je : nested) {
                if (depth >= MAX_DEPTH) continue;
                File tmp = File.createTempFile("nested", ".zip");
                try {
                    try (InputStream in = jar.getInputStream(je)) {
                        Files.copy(in, tmp.toPath(), StandardCopyOption.REPLACE_EXISTING);
                    }
                    String n = je.getName();
                    walk(location + ":" + n, n.substring(n.lastIndexOf('/') + 1), tmp, depth + 1);
                } finally {
                    tmp.delete();
                }
            }
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("--packages")) {
            for (int i = 1; i < args.length; i++) {
                String f = args[i];
                walk(f, f.substring(f.lastIndexOf('/') + 1), new File(f), 0);
            }
            return;
        }
        for (String f : args) {
            try (JarFile jar = new JarFile(f, false)) {
                Manifest m = jar.getManifest();
                if (m != null) {
                    for (Map.Entry<Object, Object> e : m.getMainAttributes().entrySet()) {
                        System.out.println(f + "\tM\t" + esc(e.getKey()) + "\t" + esc(e.getValue()));
                    }
                }
                for (Enumeration<JarEntry> en = jar.entries(); en.hasMoreElements();) {
                    JarEntry je = en.nextElement();
                    String n = je.getName();
                    if (n.startsWith("META-INF/maven/") && n.endsWith("/pom.properties")) {
                        Properties p = new Properties();
                        p.load(jar.getInputStream(je));
                        System.out.println(f + "\tP\t" + n + "\t" + esc(p.getProperty("groupId")) + "\t"
                            + esc(p.getProperty("artifactId")) + "\t" + esc(p.getProperty("version")));
                    }
                }
            }
        }
    }
}
