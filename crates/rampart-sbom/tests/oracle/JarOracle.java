// Test oracle for tests/real_java.rs: prints what the JDK's own parsers
// (java.util.jar.Manifest, java.util.Properties) read from each jar given as argument.
// Output, tab-separated, tabs/newlines/backslashes in values escaped:
//   <jar> M <attribute name> <value>                        main manifest attributes
//   <jar> P <entry> <groupId> <artifactId> <version>        each META-INF/maven/**/pom.properties
import java.util.Enumeration;
import java.util.Map;
import java.util.Properties;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.jar.Manifest;

public class JarOracle {
    static String esc(Object o) {
        return String.valueOf(o).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r");
    }

    public static void main(String[] args) throws Exception {
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
